# `terraform test` with a mocked AWS provider: the whole configuration is planned (and
# "applied" against the mock) without credentials or network, and the assertions check
# what the app and the deploy workflow rely on. Run by scripts/check_terraform.sh.

mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["us-east-1a", "us-east-1b"]
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_route53_zone" {
    defaults = {
      zone_id = "Z0000000000000000000"
    }
  }

  mock_data "aws_secretsmanager_random_password" {
    defaults = {
      # Plainly fake, and plain enough that checkov's secrets scan sees no secret in it.
      random_password = "mockmockmockmockmockmockmockmock"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_resource "aws_ses_domain_dkim" {
    defaults = {
      dkim_tokens = ["token1", "token2", "token3"]
    }
  }

  mock_resource "aws_ses_domain_identity" {
    defaults = {
      arn = "arn:aws:ses:us-east-1:123456789012:identity/practika.example.com"
    }
  }

  # The provider checks that ARNs look like ARNs, even mocked ones.
  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }

  mock_resource "aws_iam_openid_connect_provider" {
    defaults = {
      arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    }
  }

  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/practika/0123456789abcdef"
      arn_suffix = "app/practika/0123456789abcdef"
      dns_name   = "practika-123.us-east-1.elb.amazonaws.com"
      zone_id    = "Z35SXDOTRQ7X7K"
    }
  }

  mock_resource "aws_lb_target_group" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/practika-web/0123456789abcdef"
      arn_suffix = "targetgroup/practika-web/0123456789abcdef"
    }
  }

  mock_resource "aws_acm_certificate" {
    defaults = {
      arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
      domain_validation_options = [{
        domain_name           = "practika.example.com"
        resource_record_name  = "_x1.practika.example.com."
        resource_record_type  = "CNAME"
        resource_record_value = "_x2.acm-validations.aws."
      }]
    }
  }

  mock_resource "aws_acm_certificate_validation" {
    defaults = {
      certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock"
    }
  }

  mock_resource "aws_secretsmanager_secret" {
    defaults = {
      arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:practika/mock-AbCdEf"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:us-east-1:123456789012:practika-alarms"
    }
  }

  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::practika-media-123456789012"
    }
  }

  mock_resource "aws_ecr_repository" {
    defaults = {
      arn            = "arn:aws:ecr:us-east-1:123456789012:repository/practika"
      repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/practika"
    }
  }

  mock_resource "aws_ecs_cluster" {
    defaults = {
      arn = "arn:aws:ecs:us-east-1:123456789012:cluster/practika"
    }
  }

  mock_resource "aws_ecs_task_definition" {
    defaults = {
      arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/practika-web:1"
    }
  }

  mock_resource "aws_appautoscaling_policy" {
    defaults = {
      arn = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:00000000-0000-0000-0000-000000000000:resource/ecs/service/practika/practika-worker:policyName/mock"
    }
  }
}

variables {
  domain_name       = "practika.example.com"
  hosted_zone_name  = "example.com"
  image_tag         = "3f2a9c1"
  alarm_emails      = ["ops@example.com"]
  github_repository = "example-org/practika"
}

run "production_shape" {
  command = apply

  assert {
    condition     = aws_ecs_service.web.name == "practika-web" && aws_ecs_service.worker.name == "practika-worker"
    error_message = "deploy.yml and docs/operations.md expect the services practika-web and practika-worker."
  }

  assert {
    condition     = toset([for td in aws_ecs_task_definition.app : td.family]) == toset(["practika-web", "practika-worker", "practika-migrate"])
    error_message = "deploy.yml expects the task definition families practika-web, practika-worker, practika-migrate."
  }

  assert {
    condition     = !contains(keys(jsondecode(aws_ecs_task_definition.app["web"].container_definitions)[0]), "command")
    error_message = "The web container must run the image's default command (gunicorn)."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.app["worker"].container_definitions)[0].command == ["python", "worker.py"]
    error_message = "The worker container must run python worker.py."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.app["migrate"].container_definitions)[0].command == ["flask", "db", "upgrade"]
    error_message = "The migration task must run flask db upgrade."
  }

  assert {
    condition = {
      for e in jsondecode(aws_ecs_task_definition.app["worker"].container_definitions)[0].environment : e.name => e.value
      } == {
      PRACTIKA_ENV  = "production"
      BASE_URL      = "https://practika.example.com"
      STORAGE_URL   = "s3://practika-media-123456789012/media"
      AWS_REGION    = "us-east-1"
      MAIL_BACKEND  = "ses"
      MAIL_FROM     = "Practika <no-reply@practika.example.com>"
      PROXY_HOPS    = "1"
      LOG_LEVEL     = "INFO"
      INSTANCE_PATH = "/tmp/practika"

      CLOUDWATCH_NAMESPACE = "Practika"
    }
    error_message = "The worker's plain settings are not the production ones."
  }

  assert {
    condition     = toset([for s in jsondecode(aws_ecs_task_definition.app["web"].container_definitions)[0].secrets : s.name]) == toset(["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "METRICS_TOKEN"])
    error_message = "The web container must get SECRET_KEY, DATABASE_URL, REDIS_URL and METRICS_TOKEN from Secrets Manager."
  }

  assert {
    condition     = [for c in jsondecode(aws_ecs_task_definition.app["web"].container_definitions) : c.name] == ["web", "proxy"]
    error_message = "The web task must run gunicorn (web) and nginx (proxy) beside it."
  }

  assert {
    condition     = !contains(keys(jsondecode(aws_ecs_task_definition.app["web"].container_definitions)[0]), "portMappings") && contains([for e in jsondecode(aws_ecs_task_definition.app["web"].container_definitions)[0].environment : e.value if e.name == "BIND"], "127.0.0.1:8001")
    error_message = "Gunicorn must listen on the task's loopback only, where only nginx reaches it."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.app["web"].container_definitions)[1].command == ["proxy"] && jsondecode(aws_ecs_task_definition.app["web"].container_definitions)[1].portMappings[0].containerPort == 8000
    error_message = "The proxy container (nginx) must take the load balancer's port 8000."
  }

  assert {
    condition     = { for e in jsondecode(aws_ecs_task_definition.app["web"].container_definitions)[1].environment : e.name => e.value } == { LISTEN_PORT = "8000", APP_UPSTREAM = "127.0.0.1:8001", MEDIA_ROOT = "/data/media", MAX_BODY_MB = "1025", SERVER_NAME = "practika.example.com", CLIENT_ADDRESS = "$practika_forwarded_client" }
    error_message = "nginx must forward to gunicorn on loopback and cap connections by the address the ALB appended."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.app["web"].container_definitions)[1].dependsOn == [{ containerName = "web", condition = "HEALTHY" }]
    error_message = "nginx starts once gunicorn is live."
  }

  assert {
    condition     = alltrue([for c in jsondecode(aws_ecs_task_definition.app["web"].container_definitions) : c.healthCheck.command == ["CMD", "/app/deploy/docker-entrypoint.sh", "live"]])
    error_message = "Both web task containers must be checked by liveness (/core/live), never /core/health/."
  }

  assert {
    condition     = [for lb in aws_ecs_service.web.load_balancer : lb.container_name] == ["proxy"]
    error_message = "The load balancer must reach the web task through nginx."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.app["web"].container_definitions)[0].logConfiguration.options["awslogs-group"] == "/ecs/practika-web"
    error_message = "Web logs must go to /ecs/practika-web (docs/operations.md)."
  }

  assert {
    condition     = aws_lb_target_group.web.health_check[0].path == "/core/live"
    error_message = "The load balancer must check liveness (/core/live), not the full /core/health/."
  }

  assert {
    condition     = alltrue([for rule in aws_lb_target_group.web.stickiness : !rule.enabled])
    error_message = "Web tasks hold no state: the target group needs no sticky sessions."
  }

  assert {
    condition     = aws_lb_listener.http.default_action[0].type == "redirect" && aws_lb_listener.http.default_action[0].redirect[0].protocol == "HTTPS"
    error_message = "Port 80 must only redirect to HTTPS."
  }

  assert {
    condition     = length(aws_nat_gateway.main) == 1
    error_message = "single_nat_gateway defaults to one NAT gateway."
  }

  assert {
    condition     = aws_elasticache_replication_group.redis.transit_encryption_enabled && aws_elasticache_replication_group.redis.at_rest_encryption_enabled
    error_message = "Redis must be encrypted in transit and at rest."
  }

  assert {
    condition     = aws_db_instance.main.storage_encrypted && !aws_db_instance.main.publicly_accessible && aws_db_instance.main.deletion_protection
    error_message = "The database must be encrypted, private and protected from deletion."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.worker_backlog.namespace == "Practika" && aws_cloudwatch_metric_alarm.worker_backlog.metric_name == "QueueDepth" && aws_cloudwatch_metric_alarm.worker_backlog.dimensions["Queue"] == "media"
    error_message = "Worker scaling must follow the metric contract: Practika / QueueDepth / Queue=media."
  }

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.failed_jobs)) == toset(["media", "mail", "webhooks"])
    error_message = "Every queue needs a failed-jobs alarm."
  }

  assert {
    condition     = length(aws_iam_role.deploy) == 1
    error_message = "With github_repository set, the deploy role exists."
  }
}

# Videos go straight from the browser to the bucket (Issue 18): pages on the site's origin PUT
# parts to URLs the web role signed; the web role starts, lists, completes and aborts; the
# bucket aborts what nobody finished. Each policy document gets a JSON of its own here (the
# mock gives them all one), so the roles can be told apart by what they carry.
run "direct_uploads_to_the_bucket" {
  command = apply

  override_data {
    target = data.aws_iam_policy_document.app_common
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"app_common\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.web
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"web\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.worker
    values = { json = "{\"Version\":\"2012-10-17\",\"Id\":\"worker\",\"Statement\":[]}" }
  }

  assert {
    condition     = length(aws_s3_bucket_cors_configuration.media.cors_rule) == 1 && alltrue([for r in aws_s3_bucket_cors_configuration.media.cors_rule : r.allowed_origins == toset(["https://practika.example.com"])])
    error_message = "The bucket's CORS must allow the site's own origin (BASE_URL) and no other."
  }

  assert {
    condition     = alltrue([for r in aws_s3_bucket_cors_configuration.media.cors_rule : r.allowed_methods == toset(["PUT"])])
    error_message = "The bucket's CORS must allow PUT (a direct upload's parts) and nothing that nothing uses (playback needs no CORS)."
  }

  assert {
    condition     = alltrue([for r in aws_s3_bucket_cors_configuration.media.cors_rule : r.allowed_headers == toset(["Content-Type"]) && r.expose_headers == toset(["ETag"])])
    error_message = "A part's PUT may carry a Content-Type, no other header, and its answer's ETag must be readable."
  }

  assert {
    condition = anytrue([
      for r in aws_s3_bucket_lifecycle_configuration.media.rule :
      r.status == "Enabled" && r.abort_incomplete_multipart_upload[0].days_after_initiation == 1
    ])
    error_message = "The bucket must abort unfinished multipart uploads 1 day after they start (UPLOAD_EXPIRY_HOURS is 24)."
  }

  assert {
    condition     = jsondecode(aws_iam_role_policy.web.policy).Id == "web" && jsondecode(aws_iam_role_policy.worker.policy).Id == "worker"
    error_message = "The web and worker roles must each carry their own policy document."
  }

  assert {
    condition     = data.aws_iam_policy_document.web.source_policy_documents == tolist([data.aws_iam_policy_document.app_common.json]) && data.aws_iam_policy_document.worker.source_policy_documents == tolist([data.aws_iam_policy_document.app_common.json])
    error_message = "Both task roles' documents must build on the common one (the media objects, the metrics)."
  }

  assert {
    condition = toset(flatten([
      for s in concat(data.aws_iam_policy_document.app_common.statement, data.aws_iam_policy_document.web.statement) :
      [for a in s.actions : a if startswith(a, "s3:")]
    ])) == toset(["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"])
    error_message = "The web role needs exactly these S3 actions: PutObject covers starting, sending and completing a multipart upload; it also lists parts and aborts."
  }

  assert {
    condition = toset(flatten([
      for s in concat(data.aws_iam_policy_document.app_common.statement, data.aws_iam_policy_document.worker.statement) :
      [for a in s.actions : a if startswith(a, "s3:")]
    ])) == toset(["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"])
    error_message = "The worker role must not list a direct upload's parts (only the web does), and needs no other S3 action."
  }

  assert {
    condition = alltrue([
      for s in [for s in data.aws_iam_policy_document.web.statement : s if contains(s.actions, "s3:ListMultipartUploadParts")] :
      s.resources == toset(["arn:aws:s3:::practika-media-123456789012/media/videos/*/original"])
    ])
    error_message = "Parts may be listed only at the key a direct upload goes to: <prefix>/videos/<asset id>/original."
  }

  assert {
    condition = alltrue(flatten([
      for s in concat(data.aws_iam_policy_document.app_common.statement, data.aws_iam_policy_document.web.statement, data.aws_iam_policy_document.worker.statement) :
      [for a in s.actions : !strcontains(a, "*")]
    ]))
    error_message = "No task role may hold a wildcard action such as s3:*."
  }
}

# A longer UPLOAD_EXPIRY_HOURS moves the bucket's abort out with it, to the first whole day
# at or after it, so the bucket never aborts an upload the app still counts as in progress.
run "bucket_abort_follows_upload_expiry" {
  command = plan

  variables {
    extra_environment = { UPLOAD_EXPIRY_HOURS = "25" }
  }

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.media.rule[0].abort_incomplete_multipart_upload[0].days_after_initiation == 2
    error_message = "UPLOAD_EXPIRY_HOURS=25 must give the bucket's abort rule 2 days."
  }
}

run "two_nat_gateways_and_spot_workers" {
  command = plan

  variables {
    single_nat_gateway = false
    worker_spot        = true
  }

  assert {
    condition     = length(aws_nat_gateway.main) == 2
    error_message = "single_nat_gateway = false makes one NAT gateway per AZ."
  }

  assert {
    condition     = [for s in aws_ecs_service.worker.capacity_provider_strategy : s.capacity_provider] == ["FARGATE_SPOT"]
    error_message = "worker_spot puts the workers on Fargate Spot."
  }
}

run "worker_minimum_is_one" {
  command = plan

  variables {
    worker_min_count = 0
  }

  expect_failures = [var.worker_min_count]
}

run "fargate_sizes_must_pair" {
  command = plan

  variables {
    worker_cpu    = 1024
    worker_memory = 1024
  }

  expect_failures = [var.worker_memory]
}

run "bigger_fargate_sizes_are_accepted" {
  command = plan

  variables {
    web_cpu       = 512
    web_memory    = 2048
    worker_cpu    = 4096
    worker_memory = 30720
  }
}
