# The settings that are secret: SECRET_KEY, DATABASE_URL, REDIS_URL and METRICS_TOKEN. The
# tasks get them from Secrets Manager at start (the execution role reads exactly these).
#
# The database password, SECRET_KEY and METRICS_TOKEN come from an ephemeral random password
# and are written through write-only arguments: they are never stored in the Terraform
# state. Terraform writes them again only when their *_version variable is bumped, so a
# value put by hand (aws secretsmanager put-secret-value, docs/operations.md) stays. The Redis AUTH token
# cannot be write-only (ElastiCache has no such argument), so it is generated once, kept in
# the state (which is why the state lives in an encrypted bucket) and rotated through
# redis_auth_version.

ephemeral "aws_secretsmanager_random_password" "db" {
  password_length     = 40
  exclude_punctuation = true # it goes into a URL
}

ephemeral "aws_secretsmanager_random_password" "secret_key" {
  password_length     = 64
  exclude_punctuation = true
}

ephemeral "aws_secretsmanager_random_password" "metrics_token" {
  password_length     = 48
  exclude_punctuation = true # it goes into an Authorization header
}

data "aws_secretsmanager_random_password" "redis" {
  password_length     = 64
  exclude_punctuation = true # ElastiCache refuses some punctuation, and it goes into a URL
}

# Holds the first generated token until redis_auth_version changes (the data source above
# gives a new value on every plan).
resource "terraform_data" "redis_auth_token" {
  input            = data.aws_secretsmanager_random_password.redis.random_password
  triggers_replace = [var.redis_auth_version]

  lifecycle {
    ignore_changes = [input]
  }
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:Rotated by bumping a version variable (README, "Secrets"), not by a rotation Lambda: each value must change in RDS or Redis and in the running services together.
  for_each = toset(["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "METRICS_TOKEN"])

  name                    = "${local.name}/${each.key}"
  description             = "Practika ${each.key} for ${local.name}"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "secret_key" {
  secret_id                = aws_secretsmanager_secret.app["SECRET_KEY"].id
  secret_string_wo         = ephemeral.aws_secretsmanager_random_password.secret_key.random_password
  secret_string_wo_version = var.secret_key_version
}

resource "aws_secretsmanager_secret_version" "metrics_token" {
  secret_id                = aws_secretsmanager_secret.app["METRICS_TOKEN"].id
  secret_string_wo         = ephemeral.aws_secretsmanager_random_password.metrics_token.random_password
  secret_string_wo_version = var.metrics_token_version
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id = aws_secretsmanager_secret.app["DATABASE_URL"].id
  # The app turns postgresql:// into postgresql+psycopg:// itself; TLS is required.
  secret_string_wo = format(
    #checkov:skip=CKV_SECRET_4:A format string, not a credential: the password is the ephemeral one below, never in the code or the state.
    "postgresql://%s:%s@%s:%d/%s?sslmode=require",
    aws_db_instance.main.username,
    ephemeral.aws_secretsmanager_random_password.db.random_password,
    aws_db_instance.main.address,
    aws_db_instance.main.port,
    aws_db_instance.main.db_name,
  )
  secret_string_wo_version = var.db_password_version
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  secret_id = aws_secretsmanager_secret.app["REDIS_URL"].id
  # rediss:// because transit encryption is on: plain redis:// would not connect.
  secret_string_wo = format(
    "rediss://:%s@%s:%d/0",
    terraform_data.redis_auth_token.output,
    aws_elasticache_replication_group.redis.primary_endpoint_address,
    aws_elasticache_replication_group.redis.port,
  )
  secret_string_wo_version = var.redis_auth_version
}
