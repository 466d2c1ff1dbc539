output "site_url" {
  description = "The site (BASE_URL)."
  value       = local.base_url
}

output "load_balancer_dns_name" {
  description = "The load balancer's own DNS name (the site's A record aliases it)."
  value       = aws_lb.main.dns_name
}

output "ecr_repository_url" {
  description = "Where the deploy workflow pushes the image (tag it with the commit SHA)."
  value       = aws_ecr_repository.app.repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster of both services and the migration task."
  value       = aws_ecs_cluster.main.name
}

output "ecs_services" {
  description = "ECS service names by role."
  value       = { web = aws_ecs_service.web.name, worker = aws_ecs_service.worker.name }
}

output "task_definition_families" {
  description = "Task definition families by role (web, worker, migrate); deploys register new revisions of these."
  value       = { for role, td in aws_ecs_task_definition.app : role => td.family }
}

output "task_network_configuration" {
  description = "The --network-configuration of `aws ecs run-task` for one-off tasks (migrations, flask admin): private subnets, the web security group."
  value = jsonencode({
    awsvpcConfiguration = {
      subnets        = aws_subnet.private[*].id
      securityGroups = [aws_security_group.web.id]
      assignPublicIp = "DISABLED"
    }
  })
}

output "media_bucket" {
  description = "The S3 media bucket (STORAGE_URL is s3://<bucket>/<media_prefix>)."
  value       = aws_s3_bucket.media.bucket
}

output "database_endpoint" {
  description = "PostgreSQL host:port (private)."
  value       = "${aws_db_instance.main.address}:${aws_db_instance.main.port}"
}

output "redis_endpoint" {
  description = "Redis primary endpoint (private, TLS, AUTH)."
  value       = aws_elasticache_replication_group.redis.primary_endpoint_address
}

output "secret_arns" {
  description = "Secrets Manager ARNs of SECRET_KEY, DATABASE_URL, REDIS_URL and METRICS_TOKEN."
  value       = { for name, s in aws_secretsmanager_secret.app : name => s.arn }
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms publish to."
  value       = aws_sns_topic.alarms.arn
}

output "ses_identity" {
  description = "The SES domain identity mail is sent from."
  value       = aws_ses_domain_identity.mail.domain
}

output "deploy_role_arn" {
  description = "Role for the GitHub Actions deploy workflow (empty without github_repository)."
  value       = local.deploy_enabled ? aws_iam_role.deploy[0].arn : ""
}
