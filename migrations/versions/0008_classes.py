"""Classes: join codes, members, exercises published to classes; attempts reviewed and seen

Existing data moves in: each teacher gets a class holding the students who have attempted
their exercises, with their exercises published to it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 09:00:00

"""
import secrets
import uuid
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# As practika.classes.models has them today (a migration keeps its own copy).
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"


def upgrade():
    op.create_table('classes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('join_code', sa.String(length=16), nullable=False),
    sa.Column('joining_open', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('archived_at', sa.DateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_classes_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_classes')),
    sa.UniqueConstraint('join_code', name=op.f('uq_classes_join_code'))
    )
    with op.batch_alter_table('classes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_classes_created_by_id'), ['created_by_id'], unique=False)

    op.create_table('class_members',
    sa.Column('class_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('joined_at', sa.DateTime(), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("role IN ('teacher', 'student')", name=op.f('ck_class_members_role_valid')),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_class_members_class_id_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_class_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('class_id', 'user_id', name=op.f('pk_class_members'))
    )
    with op.batch_alter_table('class_members', schema=None) as batch_op:
        batch_op.create_index('ix_class_members_user_role', ['user_id', 'role'], unique=False)

    op.create_table('exercise_publications',
    sa.Column('exercise_id', sa.Uuid(), nullable=False),
    sa.Column('class_id', sa.Uuid(), nullable=False),
    sa.Column('published_at', sa.DateTime(), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_exercise_publications_class_id_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_exercise_publications_exercise_id_exercises'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('exercise_id', 'class_id', name=op.f('pk_exercise_publications'))
    )
    with op.batch_alter_table('exercise_publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exercise_publications_class_id'), ['class_id'], unique=False)

    with op.batch_alter_table('video_comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('seen_by_author_at', sa.DateTime(), nullable=True))

    _a_class_for_each_teacher()


def _a_class_for_each_teacher():
    """Each teacher's class: the students who attempted their exercises, and the exercises
    (which everyone logged in saw until now) published to it."""
    connection = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('username', sa.String),
                     sa.column('first_name', sa.String))
    profiles = sa.table('profiles', sa.column('user_id', sa.Integer), sa.column('role_id', sa.Integer))
    roles = sa.table('roles', sa.column('id', sa.Integer), sa.column('name', sa.String))
    exercises = sa.table('exercises', sa.column('id', sa.Uuid), sa.column('created_by_id', sa.Integer))
    comments = sa.table('video_comments', sa.column('exercise_id', sa.Uuid),
                        sa.column('author_id', sa.Integer), sa.column('kind', sa.String))
    classes = sa.table('classes', sa.column('id', sa.Uuid), sa.column('name', sa.String),
                       sa.column('join_code', sa.String), sa.column('created_by_id', sa.Integer),
                       sa.column('joining_open', sa.Boolean), sa.column('created_at', sa.DateTime),
                       sa.column('updated_at', sa.DateTime))
    members = sa.table('class_members', sa.column('class_id', sa.Uuid), sa.column('user_id', sa.Integer),
                       sa.column('role', sa.String), sa.column('joined_at', sa.DateTime))
    publications = sa.table('exercise_publications', sa.column('exercise_id', sa.Uuid),
                            sa.column('class_id', sa.Uuid), sa.column('published_at', sa.DateTime))

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    teachers = connection.execute(
        sa.select(users.c.id, users.c.username, users.c.first_name)
        .join(profiles, profiles.c.user_id == users.c.id)
        .join(roles, roles.c.id == profiles.c.role_id)
        .where(roles.c.name == 'teacher')
        .order_by(users.c.id)
    ).all()
    for teacher_id, username, first_name in teachers:
        class_id = uuid.uuid4()
        code = ''.join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        name = f"{(first_name or '').strip() or username}'s class"[:100]
        connection.execute(classes.insert().values(
            id=class_id, name=name, join_code=code, created_by_id=teacher_id, joining_open=True,
            created_at=now, updated_at=now))
        connection.execute(members.insert().values(
            class_id=class_id, user_id=teacher_id, role='teacher', joined_at=now))
        theirs = [row.id for row in connection.execute(
            sa.select(exercises.c.id).where(exercises.c.created_by_id == teacher_id))]
        for exercise_id in theirs:
            connection.execute(publications.insert().values(
                exercise_id=exercise_id, class_id=class_id, published_at=now))
        if not theirs:
            continue
        students = connection.execute(
            sa.select(comments.c.author_id).distinct()
            .where(comments.c.exercise_id.in_(theirs), comments.c.kind == 'attempt',
                   comments.c.author_id != teacher_id)
        ).scalars().all()
        for student_id in students:
            connection.execute(members.insert().values(
                class_id=class_id, user_id=student_id, role='student', joined_at=now))


def downgrade():
    with op.batch_alter_table('video_comments', schema=None) as batch_op:
        batch_op.drop_column('seen_by_author_at')
        batch_op.drop_column('reviewed_at')

    with op.batch_alter_table('exercise_publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exercise_publications_class_id'))
    op.drop_table('exercise_publications')
    with op.batch_alter_table('class_members', schema=None) as batch_op:
        batch_op.drop_index('ix_class_members_user_role')
    op.drop_table('class_members')
    with op.batch_alter_table('classes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_classes_created_by_id'))
    op.drop_table('classes')
