"""The API's OpenAPI 3.1 description, served at /api/v1/openapi.json. tests/test_openapi.py
runs schemathesis against the app with it: no 5xx, and every response as described."""

from __future__ import annotations

from flask import jsonify

from practika.api import bp
from practika.comments.alignment import MAX_RATE, MIN_RATE
from practika.comments.drawing import COLOURS, MAX_FREE_POINTS, MAX_POINTS, MAX_SHAPES, SHAPE_POINTS
from practika.core.direct import PART_BYTES, PARTS_WANTED, SIGNED_AT_ONCE
from practika.media.align import SURE_SCORE

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_NUMBER = {"type": ["number", "null"]}
UUID = {"type": "string", "format": "uuid"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


def _items(name: str, cursor: bool = False) -> dict:
    properties = {"items": {"type": "array", "items": _ref(name)}}
    if cursor:
        properties["next_cursor"] = NULLABLE_STRING
    return {"type": "object", "required": list(properties), "properties": properties}


ERRORS = {
    "401": _problem("No valid bearer token"),
    "404": _problem("Not there, or not yours to see"),
    "422": _problem("The input did not validate; errors has one entry per field"),
    "429": _problem("Too many requests for this token"),
}
READ_ERRORS = {key: ERRORS[key] for key in ("401", "404", "429")}
# Straight to the bucket: the limits of an upload, and parts still missing.
DIRECT_ERRORS = {
    **ERRORS,
    "409": _problem("Parts are missing, or do not add up to the length declared"),
    "413": _problem("Larger than one upload or than the quota allows"),
    "429": _problem("Too many requests, uploads in progress or videos waiting"),
}
PATH_ID = {"in": "path", "required": True, "schema": {"type": "string"}}
BINARY = {"type": "string", "format": "binary"}
# The resumable protocol answers in tus' own way: plain text, the state in headers.
TUS_ERRORS = {
    "401": ERRORS["401"],
    "422": ERRORS["422"],
    "429": {
        "description": "Too many requests for this token (problem details), or too many "
        "uploads in progress or videos waiting to be processed (the text says which)",
        "content": {
            "application/problem+json": {"schema": _ref("Problem")},
            "text/plain": {"schema": {"type": "string"}},
        },
    },
    "4XX": {
        "description": "The protocol or a limit refused it (404: no such upload of "
        "yours; 409: not at that offset; 413: too large; 423: another piece is being "
        "written, retry); the text says why",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    "507": {
        "description": "The server is out of space: the upload is kept, resume it later",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
}
TUS_HEADERS = {
    "Tus-Resumable": {"schema": {"type": "string"}},
    "Upload-Offset": {"schema": {"type": "integer"}},
}
UPLOAD_LENGTH = {"Upload-Length": {"schema": {"type": "integer"}}}
VIDEO_MADE = {"X-Video-Asset": {"schema": UUID}, "X-Video-Status": {"schema": {"type": "string"}}}


def _header(name: str, schema: dict, required: bool = True) -> dict:
    return {"name": name, "in": "header", "required": required, "schema": schema}


TUS_VERSION_HEADER = _header("Tus-Resumable", {"enum": ["1.0.0"]})


def _params(*names: str) -> list[dict]:
    return [{"name": name, **PATH_ID} for name in names]


def _body(schema: dict) -> dict:
    return {"required": True, **_json(schema)}


DIRECT_UPLOAD = {
    "type": "object",
    "properties": {
        "id": UUID,
        "video_id": {**UUID, "description": "The video it becomes, known from the start"},
        "length": {"type": "integer"},
        "part_bytes": {
            "type": "integer",
            "description": f"Every part's size but the last's: {PART_BYTES // 2**20} MiB, or "
            f"more for a video that would need over {PARTS_WANTED} parts",
        },
        "parts": {"type": "integer"},
        "urls_at_once": {"type": "integer", "description": "Part URLs one request may ask for"},
        "urls": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": f"On the start only: the first parts' signed URLs (up to "
            f"{SIGNED_AT_ONCE}), by part number",
        },
        "parts_url": {"type": "string"},
    },
}
POINT = {
    "type": "array",
    "items": {"type": "number", "minimum": 0, "maximum": 1},
    "minItems": 2,
    "maxItems": 2,
    "description": "[x, y] across the upright frame, 0 to 1 from its top left",
}
DRAWING = {
    "type": ["array", "null"],
    "maxItems": MAX_SHAPES,
    "description": "Shapes drawn on the take's frame at at_seconds (feedback on an attempt "
    f"only), at most {MAX_POINTS} points in all. arrow and line: from, to; circle: the "
    "centre, a point on the rim; angle: an arm's end, the vertex, the other arm's end; free: "
    f"the path, 2 to {MAX_FREE_POINTS} points. Anything else is refused with 422.",
    "items": {
        "type": "object",
        "required": ["shape", "colour", "points"],
        "additionalProperties": False,
        "properties": {
            "shape": {"enum": [*SHAPE_POINTS, "free"]},
            "colour": {"enum": list(COLOURS)},
            "points": {"type": "array", "items": POINT, "minItems": 2},
        },
    },
}
COMMENT_INPUT = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "maxLength": 5000},
        "at_seconds": {"type": "number", "minimum": 0, "maximum": 86400},
        "video_id": UUID,
        "drawing": DRAWING,
    },
}

CLASS_PROPERTIES = {
    "id": UUID,
    "name": {"type": "string"},
    "role": {"enum": ["teacher", "student", None], "description": "Yours in the class"},
    "joining_open": {"type": "boolean"},
    "archived": {"type": "boolean"},
    "created_at": {"type": "string"},
    "join_code": {
        "type": "string",
        "description": "As it is read out, ABCD-EFGH (only for its teachers and staff)",
    },
    "join_url": {
        "type": "string",
        "description": "The join link (only for its teachers and staff)",
    },
}

SCHEMAS = {
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "Person": {
        "type": "object",
        "required": ["id", "username", "display_name"],
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "display_name": {"type": "string"},
        },
    },
    "Me": {
        "type": "object",
        "required": ["id", "username", "email", "role", "is_staff"],
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "email": {"type": "string"},
            "first_name": {"type": "string"},
            "last_name": {"type": "string"},
            "display_name": {"type": "string"},
            "role": {"enum": ["student", "teacher", None]},
            "is_staff": {"type": "boolean"},
        },
    },
    "Video": {
        "type": "object",
        "required": ["id", "status", "progress", "renditions", "video_url", "poster_url"],
        "properties": {
            "id": UUID,
            "kind": {
                "enum": ["video", "voice"],
                "description": "voice: a recording of sound only, which only a comment may "
                "carry; its video_url is an AAC .m4a (audio/mp4), and it has no poster",
            },
            "status": {"enum": ["uploaded", "queued", "processing", "ready", "failed"]},
            "stage": NULLABLE_STRING,
            "progress": {"type": "integer"},
            "eta_seconds": {"type": ["integer", "null"]},
            "error": NULLABLE_STRING,
            "duration": NULLABLE_NUMBER,
            "width": {"type": ["integer", "null"]},
            "height": {"type": ["integer", "null"]},
            "youtube_url": NULLABLE_STRING,
            "renditions": {"type": "array", "items": {"type": "string"}},
            "video_url": NULLABLE_STRING,
            "poster_url": NULLABLE_STRING,
            "native_url": {
                **NULLABLE_STRING,
                "description": "While nothing plays everywhere yet: the upload's own streams "
                "(a recorder's WebM, an iPhone's HEVC), for a player that plays native_type",
            },
            "native_type": {
                **NULLABLE_STRING,
                "description": 'Its MIME type with codecs, e.g. video/webm; codecs="vp8, opus"',
            },
        },
    },
    "Clip": {
        "type": "object",
        "required": ["id", "title", "position", "start", "end", "status"],
        "properties": {
            "id": UUID,
            "title": {"type": "string"},
            "position": {"type": "integer"},
            "start": {"type": "number"},
            "end": {"type": "number"},
            "status": {"type": "string"},
        },
    },
    "Exercise": {
        "type": "object",
        "required": ["id", "name", "description", "author", "video", "published", "created_at"],
        "properties": {
            "id": UUID,
            "name": {"type": "string"},
            "description": {"type": "string"},
            "author": _ref("Person"),
            "video": {"oneOf": [_ref("Video"), {"type": "null"}]},
            "published": {"type": "boolean", "description": "false: a draft, seen by no class"},
            "class_ids": {
                "type": "array",
                "items": UUID,
                "description": "The classes it is published to (only for those who may change it)",
            },
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
            "clips": {"type": "array", "items": _ref("Clip")},
        },
    },
    "Comment": {
        "type": "object",
        "required": ["id", "exercise_id", "kind", "author", "text", "parent_id", "at_seconds"],
        "properties": {
            "id": UUID,
            "exercise_id": UUID,
            "kind": {"enum": ["comment", "attempt"]},
            "author": _ref("Person"),
            "text": {"type": "string"},
            "parent_id": {"type": ["string", "null"]},
            "at_seconds": NULLABLE_NUMBER,
            "video": {"oneOf": [_ref("Video"), {"type": "null"}]},
            "drawing": DRAWING,
            "still_url": {
                "type": ["string", "null"],
                "description": "The frame the drawing is on, as a JPEG, once the worker made it",
            },
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
            "alignment": {
                "oneOf": [_ref("Alignment"), {"type": "null"}],
                "description": "Attempts only: where the take sits on the model video "
                "(null until it has been asked for, or when it is about another take or model)",
            },
        },
    },
    "Alignment": {
        "type": "object",
        "description": "Model time = offset_sec + rate x take time",
        "required": ["offset_sec", "rate", "confidence", "aligned_by", "clip_id"],
        "properties": {
            "offset_sec": {
                **NULLABLE_NUMBER,
                "description": "Model seconds at the take's start (null while waiting)",
            },
            "rate": {"type": "number", "description": "The model's speed while recording"},
            "confidence": {
                **NULLABLE_NUMBER,
                "description": f"The sound match's standard score ({SURE_SCORE:g} and over: sure)",
            },
            "aligned_by": {
                "enum": ["waiting", "sound", "none", "manual"],
                "description": "none: no sound or too doubtful, the two start together",
            },
            "clip_id": {**NULLABLE_STRING, "description": "The clip recorded against"},
        },
    },
    "Class": {
        "type": "object",
        "required": ["id", "name", "role", "joining_open", "archived", "created_at"],
        "properties": CLASS_PROPERTIES,
    },
    "ClassDetail": {
        "type": "object",
        "required": [
            *("id", "name", "role", "joining_open", "archived", "created_at"),
            *("teachers", "exercise_ids"),
        ],
        "properties": {
            **CLASS_PROPERTIES,
            "teachers": {"type": "array", "items": _ref("Person")},
            "exercise_ids": {"type": "array", "items": UUID},
            "members": {
                "type": "array",
                "description": "The roster (only for its teachers and staff)",
                "items": {
                    "type": "object",
                    "required": ["user", "role", "joined_at"],
                    "properties": {
                        "user": _ref("Person"),
                        "role": {"enum": ["teacher", "student"]},
                        "joined_at": {"type": "string"},
                    },
                },
            },
        },
    },
}

EXERCISE_INPUT = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": {"type": "string", "maxLength": 5000},
        "youtube_url": {"type": "string", "maxLength": 255},
        "video_id": UUID,
    },
}

CLASS_DETAIL = _json(_ref("ClassDetail"))
CLASS_INPUT = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "joining_open": {"type": "boolean"},
        "archived": {"type": "boolean"},
    },
}


def _one_field(name: str, schema: dict) -> dict:
    return _body({"type": "object", "required": [name], "properties": {name: schema}})


CLASS_PATHS = {
    "/classes": {
        "get": {
            "summary": "Your classes (staff: every class), archived ones last",
            "operationId": "listClasses",
            "responses": {"200": {"description": "Classes", **_json(_items("Class"))}, **ERRORS},
        },
        "post": {
            "summary": "Create a class (teachers); you teach it",
            "operationId": "createClass",
            "requestBody": _one_field("name", CLASS_INPUT["properties"]["name"]),
            "responses": {"201": {"description": "Created", **CLASS_DETAIL}, **ERRORS},
        },
    },
    "/classes/join": {
        "post": {
            "summary": "Join a class by its code (students)",
            "operationId": "joinClass",
            "requestBody": _one_field("code", {"type": "string", "maxLength": 40}),
            "responses": {
                "200": {"description": "You are in it", **CLASS_DETAIL},
                **ERRORS,
                "422": _problem(
                    "No class has that code, or it takes no one now: the detail says which"
                ),
                "429": _problem("Too many refused codes (JOIN_RATE_LIMIT), or requests"),
            },
        },
    },
    "/classes/{class_id}": {
        "parameters": _params("class_id"),
        "get": {
            "summary": "A class: its teachers and exercises; for its teachers and staff also "
            "the code, the link and the roster",
            "operationId": "getClass",
            "responses": {"200": {"description": "It", **CLASS_DETAIL}, **READ_ERRORS},
        },
        "patch": {
            "summary": "Rename it, open or close joining, archive it (its teachers, staff)",
            "operationId": "updateClass",
            "requestBody": _body(CLASS_INPUT),
            "responses": {"200": {"description": "Changed", **CLASS_DETAIL}, **ERRORS},
        },
        "delete": {
            "summary": "Delete the class; its exercises and attempts stay",
            "operationId": "deleteClass",
            "responses": {"204": {"description": "Deleted"}, **READ_ERRORS},
        },
    },
    "/classes/{class_id}/code": {
        "parameters": _params("class_id"),
        "post": {
            "summary": "A new join code: the old code and link stop working",
            "operationId": "newClassCode",
            "responses": {"200": {"description": "Replaced", **CLASS_DETAIL}, **READ_ERRORS},
        },
    },
    "/classes/{class_id}/teachers": {
        "parameters": _params("class_id"),
        "post": {
            "summary": "Add a co-teacher by the email of their teacher's account",
            "operationId": "addClassTeacher",
            "requestBody": _one_field("email", {"type": "string", "maxLength": 254}),
            "responses": {"200": {"description": "Added", **CLASS_DETAIL}, **ERRORS},
        },
    },
    "/classes/{class_id}/members/{user_id}": {
        "parameters": _params("class_id", "user_id"),
        "delete": {
            "summary": "Take someone out of the class (a class keeps one teacher at least); "
            "their attempts stay",
            "operationId": "removeClassMember",
            "responses": {"204": {"description": "Removed"}, **ERRORS},
        },
    },
    "/exercises/{exercise_id}/classes": {
        "parameters": _params("exercise_id"),
        "put": {
            "summary": "Publish to exactly these of the author's classes ([] makes it a draft); "
            "only with a model video that plays",
            "operationId": "publishExercise",
            "requestBody": _one_field("class_ids", {"type": "array", "items": UUID}),
            "responses": {"200": {"description": "Published", **_json(_ref("Exercise"))}, **ERRORS},
        },
    },
    "/inbox": {
        "get": {
            "summary": "Attempts waiting for your feedback, oldest waiting first (teachers)",
            "operationId": "reviewInbox",
            "parameters": [
                {"name": "class", "in": "query", "schema": UUID},
                {"name": "exercise", "in": "query", "schema": UUID},
            ],
            "responses": {
                "200": {
                    "description": "A page of attempts; has_more when more wait",
                    **_json(
                        {
                            "type": "object",
                            "required": ["items", "has_more"],
                            "properties": {
                                "items": {"type": "array", "items": _ref("Comment")},
                                "has_more": {"type": "boolean"},
                            },
                        }
                    ),
                },
                **ERRORS,
            },
        },
    },
    "/attempts/{attempt_id}/reviewed": {
        "parameters": _params("attempt_id"),
        "post": {
            "summary": "Mark an attempt reviewed without a comment: out of the inbox",
            "operationId": "markReviewed",
            "responses": {"204": {"description": "Marked"}, **READ_ERRORS},
        },
    },
}

PATHS = {
    "/me": {
        "get": {
            "summary": "The token's user",
            "operationId": "me",
            "responses": {"200": {"description": "You", **_json(_ref("Me"))}, **READ_ERRORS},
        }
    },
    "/exercises": {
        "get": {
            "summary": "Exercises you see, newest first",
            "operationId": "listExercises",
            "parameters": [
                {"name": "q", "in": "query", "schema": {"type": "string"}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                },
            ],
            "responses": {
                "200": {"description": "A page", **_json(_items("Exercise", True))},
                **ERRORS,
            },
        },
        "post": {
            "summary": "Create an exercise (teachers)",
            "operationId": "createExercise",
            "requestBody": _body({**EXERCISE_INPUT, "required": ["name"]}),
            "responses": {"201": {"description": "Created", **_json(_ref("Exercise"))}, **ERRORS},
        },
    },
    "/exercises/{exercise_id}": {
        "parameters": _params("exercise_id"),
        "get": {
            "summary": "One exercise, with its clips",
            "operationId": "getExercise",
            "responses": {"200": {"description": "It", **_json(_ref("Exercise"))}, **READ_ERRORS},
        },
        "patch": {
            "summary": "Change an exercise (its author, staff)",
            "operationId": "updateExercise",
            "requestBody": _body(EXERCISE_INPUT),
            "responses": {"200": {"description": "Changed", **_json(_ref("Exercise"))}, **ERRORS},
        },
        "delete": {
            "summary": "Delete an exercise and everything in it",
            "operationId": "deleteExercise",
            "responses": {"204": {"description": "Deleted"}, **READ_ERRORS},
        },
    },
    "/exercises/{exercise_id}/clips": {
        "parameters": _params("exercise_id"),
        "get": {
            "summary": "Its clips, in order",
            "operationId": "listClips",
            "responses": {"200": {"description": "Clips", **_json(_items("Clip"))}, **READ_ERRORS},
        },
        "post": {
            "summary": "Mark a clip (its author, staff)",
            "operationId": "createClip",
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["start", "end"],
                    "properties": {
                        "start": {"type": "number", "minimum": 0},
                        "end": {"type": "number", "minimum": 0},
                        "title": {"type": "string", "maxLength": 200},
                    },
                }
            ),
            "responses": {"201": {"description": "Marked", **_json(_ref("Clip"))}, **ERRORS},
        },
    },
    "/exercises/{exercise_id}/attempts": {
        "parameters": _params("exercise_id"),
        "get": {
            "summary": "Attempts you may see, newest first",
            "operationId": "listAttempts",
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                }
            ],
            "responses": {"200": {"description": "Attempts", **_json(_items("Comment"))}, **ERRORS},
        },
        "post": {
            "summary": "Send an attempt (students)",
            "operationId": "createAttempt",
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["video_id"],
                    "properties": {
                        "video_id": UUID,
                        "note": {"type": "string", "maxLength": 5000},
                        "against_clip_id": {
                            **UUID,
                            "description": "The clip of this exercise the take was "
                            "recorded against",
                        },
                        "against_rate": {
                            "type": "number",
                            "minimum": MIN_RATE,
                            "maximum": MAX_RATE,
                            "description": "The model's speed while the take was recorded",
                        },
                    },
                }
            ),
            "responses": {
                "200": {"description": "Sent before: the attempt", **_json(_ref("Comment"))},
                "201": {"description": "Sent", **_json(_ref("Comment"))},
                **ERRORS,
            },
        },
    },
    "/attempts/{attempt_id}/video": {
        "parameters": _params("attempt_id"),
        "put": {
            "summary": "Replace your attempt's failed video (students)",
            "operationId": "replaceAttemptVideo",
            "requestBody": _body(
                {"type": "object", "required": ["video_id"], "properties": {"video_id": UUID}}
            ),
            "responses": {"200": {"description": "Replaced", **_json(_ref("Comment"))}, **ERRORS},
        },
    },
    "/exercises/{exercise_id}/comments": {
        "parameters": _params("exercise_id"),
        "get": {
            "summary": "The discussion: threads, each followed by its replies",
            "operationId": "listComments",
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                }
            ],
            "responses": {"200": {"description": "Comments", **_json(_items("Comment"))}, **ERRORS},
        },
        "post": {
            "summary": "Comment on the exercise",
            "operationId": "createComment",
            "requestBody": _body(COMMENT_INPUT),
            "responses": {"201": {"description": "Posted", **_json(_ref("Comment"))}, **ERRORS},
        },
    },
    "/comments/{comment_id}/still": {
        "parameters": _params("comment_id"),
        "get": {
            "summary": "The frame a comment's drawing is on (its still_url)",
            "operationId": "getCommentStill",
            "responses": {
                "200": {"description": "The still", "content": {"image/jpeg": {"schema": BINARY}}},
                "302": {
                    "description": "With S3 storage: a short-lived presigned URL",
                    "headers": {"Location": {"schema": {"type": "string"}}},
                },
                **READ_ERRORS,
            },
        },
    },
    "/comments/{comment_id}/replies": {
        "parameters": _params("comment_id"),
        "get": {
            "summary": "A thread's replies (an attempt's feedback)",
            "operationId": "listReplies",
            "responses": {
                "200": {"description": "Replies", **_json(_items("Comment"))},
                **READ_ERRORS,
            },
        },
        "post": {
            "summary": "Reply in the thread; on an attempt, feedback at a moment",
            "operationId": "createReply",
            "requestBody": _body(COMMENT_INPUT),
            "responses": {"201": {"description": "Posted", **_json(_ref("Comment"))}, **ERRORS},
        },
    },
    **CLASS_PATHS,
    "/videos": {
        "post": {
            "summary": "Upload a video in one request",
            "operationId": "uploadVideo",
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["video"],
                            "properties": {
                                "video": {"type": "string", "format": "binary"},
                                "kind": {
                                    "enum": ["video", "voice"],
                                    "description": "voice: sound only, for a comment",
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": {"description": "Stored, queued", **_json(_ref("Video"))},
                **ERRORS,
            },
        },
    },
    "/videos/{video_id}": {
        "parameters": _params("video_id"),
        "get": {
            "summary": "A video's state: stage, progress, ETA, URLs",
            "operationId": "getVideo",
            "responses": {"200": {"description": "It", **_json(_ref("Video"))}, **READ_ERRORS},
        },
    },
    **{
        f"/videos/{{video_id}}/{kind}": {
            "parameters": _params("video_id"),
            "get": {
                "summary": summary,
                "operationId": f"get{kind.title()}",
                "parameters": [_header("Range", {"type": "string"}, required=False)],
                "responses": {
                    "200": {"description": "The file", "content": {mimetype: {"schema": BINARY}}},
                    "206": {
                        "description": "The part asked for by Range",
                        "content": {mimetype: {"schema": BINARY}},
                    },
                    "302": {
                        "description": "With S3 storage: a short-lived presigned URL",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    },
                    "416": {"description": "The Range is outside the file"},
                    **READ_ERRORS,
                },
            },
        }
        for kind, mimetype, summary in [
            (
                "video",
                "video/mp4",
                "The video's best playable rendition (its video_url; audio/mp4 for a voice)",
            ),
            ("native", "video/*", "The video's native copy, while it is made (its native_url)"),
            ("poster", "image/jpeg", "The video's poster image (its poster_url)"),
        ]
    },
    "/direct-uploads/": {
        "post": {
            "summary": "Start a video's upload straight to the bucket (S3 storage only)",
            "description": "The limits of a resumable upload are checked first. Then PUT "
            "each part (part_bytes each, the last one shorter) to the URLs from "
            "/direct-uploads/{upload_id}/urls, and complete. 404 without S3 storage.",
            "operationId": "startDirectUpload",
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["length"],
                    "properties": {
                        "length": {"type": "integer", "minimum": 1},
                        "filename": {"type": "string", "maxLength": 255},
                        "kind": {"enum": ["video", "voice"]},
                    },
                }
            ),
            "responses": {
                "201": {"description": "Started", **_json(DIRECT_UPLOAD)},
                **DIRECT_ERRORS,
            },
        },
    },
    "/direct-uploads/{upload_id}": {
        "parameters": _params("upload_id"),
        "get": {
            "summary": "What arrived: resume from the first part missing",
            "operationId": "getDirectUpload",
            "responses": {
                "200": {
                    "description": "The upload and its parts in the bucket",
                    **_json(
                        {
                            **DIRECT_UPLOAD,
                            "properties": {
                                **DIRECT_UPLOAD["properties"],
                                "arrived": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "number": {"type": "integer"},
                                            "size": {"type": "integer"},
                                        },
                                    },
                                },
                            },
                        }
                    ),
                },
                **READ_ERRORS,
            },
        },
        "delete": {
            "summary": "Abort it: the parts are deleted from the bucket",
            "operationId": "abortDirectUpload",
            "responses": {"204": {"description": "Aborted"}, **ERRORS},
        },
    },
    "/direct-uploads/{upload_id}/urls": {
        "parameters": _params("upload_id"),
        "post": {
            "summary": f"Signed PUT URLs for some parts (at most {SIGNED_AT_ONCE}), valid for 15 "
            "minutes",
            "operationId": "signDirectUploadParts",
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["parts"],
                    "properties": {
                        "parts": {"type": "array", "items": {"type": "integer", "minimum": 1}}
                    },
                }
            ),
            "responses": {
                "200": {
                    "description": "A URL per part number",
                    **_json(
                        {
                            "type": "object",
                            "properties": {
                                "urls": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                }
                            },
                        }
                    ),
                },
                **DIRECT_ERRORS,
            },
        },
    },
    "/direct-uploads/{upload_id}/complete": {
        "parameters": _params("upload_id"),
        "post": {
            "summary": "Join the parts into the video, which is then processed",
            "description": "409 while a part is missing or the parts do not add up to the "
            "length declared; the video's id was known from the start.",
            "operationId": "completeDirectUpload",
            "responses": {
                "201": {
                    "description": "The video",
                    **_json(
                        {
                            "type": "object",
                            "properties": {"video_id": UUID, "video_url": {"type": "string"}},
                        }
                    ),
                },
                **DIRECT_ERRORS,
            },
        },
    },
    "/uploads/": {
        "post": {
            "summary": "Start a resumable upload (tus 1.0 creation)",
            "operationId": "createUpload",
            "parameters": [
                TUS_VERSION_HEADER,
                _header("Upload-Length", {"type": "integer", "minimum": 0}),
                {
                    **_header("Upload-Metadata", {"type": "string"}, required=False),
                    "description": "tus metadata: filename, and kind (video, or voice for "
                    "a recording of sound only, which only a comment may carry)",
                },
            ],
            "responses": {
                "201": {
                    "description": "Created: PATCH the bytes to Location",
                    "headers": {**TUS_HEADERS, "Location": {"schema": {"type": "string"}}},
                },
                **TUS_ERRORS,
            },
        },
    },
    "/uploads/{upload_id}": {
        "parameters": [TUS_VERSION_HEADER, *_params("upload_id")],
        "head": {
            "summary": "How far the upload got",
            "operationId": "getUploadOffset",
            "responses": {
                "200": {
                    "description": "Upload-Offset bytes of Upload-Length",
                    "headers": {**TUS_HEADERS, **UPLOAD_LENGTH},
                },
                **TUS_ERRORS,
            },
        },
        "patch": {
            "summary": "Send the next piece, at Upload-Offset; the last one makes the video",
            "operationId": "continueUpload",
            "parameters": [_header("Upload-Offset", {"type": "integer", "minimum": 0})],
            "requestBody": {
                "required": True,
                "content": {"application/offset+octet-stream": {"schema": BINARY}},
            },
            "responses": {
                "204": {
                    "description": "Stored; after the last piece "
                    "X-Video-Asset names the video, X-Video-Status its URL",
                    "headers": {**TUS_HEADERS, **VIDEO_MADE},
                },
                **TUS_ERRORS,
            },
        },
        "delete": {
            "summary": "Abandon the upload",
            "operationId": "deleteUpload",
            "responses": {"204": {"description": "Deleted"}, **TUS_ERRORS},
        },
    },
    "/openapi.json": {
        "get": {
            "summary": "This description",
            "operationId": "openapi",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1", **_json({"type": "object"})}},
        },
    },
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "Practika API",
        "version": "1.0.0",
        "description": "Exercises, clips, attempts, feedback and videos, classes and the "
        "review inbox, for API clients. "
        "Authenticate with a personal token from your profile page: "
        "`Authorization: Bearer pk_...`. Errors are problem details (RFC 9457). Large "
        "videos go up resumably with tus 1.0 at /api/v1/uploads/ (see docs/api.md).",
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": SCHEMAS,
    },
    "paths": PATHS,
}


@bp.get("/openapi.json")
def openapi():
    return jsonify(DOCUMENT)
