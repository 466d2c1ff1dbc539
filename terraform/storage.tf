# The media bucket: private (public access blocked, objects owned by the bucket owner,
# TLS only), encrypted with the stack's key, versioned. Browsers get media through short
# presigned URLs; CORS lets the site's own pages send a video's parts straight to it.

resource "aws_s3_bucket" "media" {
  #checkov:skip=CKV_AWS_18:No server access log bucket at this size: requests are signed by the app, which logs who asked for what; add CloudTrail data events when an audit needs it.
  #checkov:skip=CKV_AWS_144:No cross-region replication: it would double storage cost; versioning covers mistakes, and the originals are the only irreplaceable objects.
  #checkov:skip=CKV2_AWS_62:No event notifications: nothing consumes them (the app enqueues work itself after each upload).
  bucket = local.media_bucket
}

resource "aws_s3_bucket_public_access_block" "media" {
  bucket = aws_s3_bucket.media.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    bucket_key_enabled = true # one KMS call per object, not per request
  }
}

resource "aws_s3_bucket_versioning" "media" {
  bucket = aws_s3_bucket.media.id

  versioning_configuration {
    status = "Enabled"
  }
}

# What a script on the site's own pages may do with the bucket, and nothing more: PUT the
# parts of a direct upload to the URLs the app signed (practika/core/direct.py; the only
# writes the app presigns), with a Content-Type if the script sets one, and read each part's
# ETag (the app lists the parts itself, so it needs none today; a client may keep them).
# Playback needs no CORS: <video>, <audio> and <img> follow the app's redirect to a
# presigned GET without it (no crossorigin attribute, and no script reads media bytes), so
# GET, HEAD and POST are not allowed. Allow GET (and expose Content-Range) only when a
# script comes to read media from the bucket.
resource "aws_s3_bucket_cors_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  cors_rule {
    id              = "direct-upload-parts"
    allowed_origins = [local.base_url]
    allowed_methods = ["PUT"]
    allowed_headers = ["Content-Type"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3600
  }
}

# Unfinished multipart uploads. The app's sweep aborts a direct upload UPLOAD_EXPIRY_HOURS
# after it started (24 by default, practika/config.py; set it with extra_environment). The
# bucket counts whole days from the start and acts at the first midnight UTC after them, so
# ceil(hours / 24) days (1 by default: 24 to 48 hours after the start) is the shortest rule
# that never aborts an upload the app still counts as in progress. It catches what the sweep
# cannot see: a multipart upload started whose row was never committed, and the rendition a
# worker was storing when it was killed.
locals {
  upload_expiry_hours  = tonumber(lookup(local.app_environment, "UPLOAD_EXPIRY_HOURS", "24"))
  multipart_abort_days = max(1, ceil(local.upload_expiry_hours / 24))
}

resource "aws_s3_bucket_lifecycle_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    id     = "stale-uploads-and-old-versions"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = local.multipart_abort_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.media_noncurrent_days
    }

    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.media]
}

data "aws_iam_policy_document" "media_bucket" {
  statement {
    sid       = "DenyPlainHTTP"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.media.arn, "${aws_s3_bucket.media.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "media" {
  bucket = aws_s3_bucket.media.id
  policy = data.aws_iam_policy_document.media_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.media]
}
