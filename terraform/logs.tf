# Log groups are made here (not by the services that write to them) so that each has a
# retention and the stack's KMS key. The app writes JSON lines on stderr: CloudWatch Logs
# Insights reads their fields as they are.

resource "aws_cloudwatch_log_group" "app" {
  for_each = toset(["web", "worker", "migrate"])

  name              = "/ecs/${local.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

# RDS would create these itself, unencrypted and kept forever.
resource "aws_cloudwatch_log_group" "db" {
  for_each = toset(["postgresql", "upgrade"])

  name              = "/aws/rds/instance/${local.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_cloudwatch_log_group" "redis" {
  name              = "/elasticache/${local.name}/slow-log"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_cloudwatch_log_group" "flow" {
  name              = "/vpc/${local.name}/flow-logs"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}
