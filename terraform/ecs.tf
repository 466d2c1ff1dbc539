# ECS Fargate: one image, two services. The web task runs two containers of it: the image's
# default command (gunicorn -c deploy/gunicorn.conf.py wsgi:app) on the task's loopback only,
# and the proxy role (nginx, deploy/nginx.conf) in front of it on local.app_port, which the
# load balancer reaches. The ALB does not buffer request bodies: without nginx a client
# sending its body a byte at a time held a gunicorn thread per connection. The worker service
# runs `python worker.py`. A third task definition runs `flask db upgrade` once per deploy,
# before the services roll (deploy.yml runs it with the entrypoint's `migrate` role, which
# first waits for the database to answer). The image's entrypoint (tini, then
# deploy/docker-entrypoint.sh) runs whatever command it is given with exec.

resource "aws_ecs_cluster" "main" {
  #checkov:skip=CKV_AWS_65:Container Insights is var.container_insights, off by default for cost (about $5-10/month at this size); scaling and alarms use ALB, ECS service and app metrics, which are free or already paid for.
  name = local.name

  setting {
    name  = "containerInsights"
    value = var.container_insights
  }
}

locals {
  image = "${aws_ecr_repository.app.repository_url}:${var.image_tag}"

  # Every setting the app reads is parsed in practika/config.py; these are the ones
  # production sets. The secrets come from Secrets Manager (secrets.tf).
  app_environment = merge(
    {
      PRACTIKA_ENV  = "production"
      BASE_URL      = local.base_url
      STORAGE_URL   = "s3://${aws_s3_bucket.media.bucket}/${var.media_prefix}"
      AWS_REGION    = local.region
      MAIL_BACKEND  = "ses"
      MAIL_FROM     = local.mail_from
      PROXY_HOPS    = "1" # the load balancer is the only proxy that sets X-Forwarded-*
      LOG_LEVEL     = "INFO"
      INSTANCE_PATH = "/tmp/practika" # partial resumable uploads; nothing else in production
      # The worker publishes QueueDepth and FailedJobs here (worker.py, practika/metrics.py).
      CLOUDWATCH_NAMESPACE = local.metric_namespace
    },
    var.extra_environment,
  )

  app_secrets = [
    for name, secret in aws_secretsmanager_secret.app : { name = name, valueFrom = secret.arn }
  ]

  scratch_volume = var.readonly_root_filesystem ? [
    { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }
  ] : []

  gunicorn_port = local.app_port + 1 # in the web task, on loopback: only nginx beside it

  # The container check of the web task's two containers: GET /core/live (process up,
  # database reachable), never /core/health/, so Redis or the workers being away does not
  # get healthy tasks replaced. The entrypoint's live role picks the port.
  live_check = {
    command     = ["CMD", "/app/deploy/docker-entrypoint.sh", "live"]
    interval    = 15
    timeout     = 5
    retries     = 3
    startPeriod = 30
  }

  # One container definition, three roles. No command keeps the image's default (web).
  containers = {
    web = {
      command = null
      environment = merge(local.app_environment, {
        BIND            = "127.0.0.1:${local.gunicorn_port}"
        WEB_CONCURRENCY = tostring(var.web_concurrency)
        PROXY_HOPS      = "2" # the load balancer, then nginx
      })
      health       = local.live_check
      stop_timeout = 30 # gunicorn's graceful_timeout is 25 s
    }
    worker = {
      command      = ["python", "worker.py"]
      environment  = local.app_environment
      health       = null
      stop_timeout = 120 # the Fargate maximum: lets RQ finish or hand back its current job
    }
    migrate = {
      command      = ["flask", "db", "upgrade"]
      environment  = local.app_environment
      health       = null
      stop_timeout = 30
    }
  }

  # nginx in front of gunicorn in the web task (the image's proxy role). It reads each request
  # body whole before gunicorn sees it; behind the ALB it counts the per-client connection
  # cap by the X-Forwarded-For entry the ALB appended. Starts once gunicorn is live.
  proxy_container = {
    name      = "proxy"
    image     = local.image
    essential = true
    command   = ["proxy"]
    environment = [for k, v in {
      LISTEN_PORT    = tostring(local.app_port)
      APP_UPSTREAM   = "127.0.0.1:${local.gunicorn_port}"
      MEDIA_ROOT     = "/data/media" # unused: media is on S3, served by presigned URLs
      MAX_BODY_MB    = tostring(tonumber(lookup(local.app_environment, "MAX_UPLOAD_MB", "1024")) + 1)
      SERVER_NAME    = var.domain_name
      CLIENT_ADDRESS = "$practika_forwarded_client"
    } : { name = k, value = v }]
    portMappings           = [{ containerPort = local.app_port, protocol = "tcp" }]
    dependsOn              = [{ containerName = "web", condition = "HEALTHY" }]
    healthCheck            = local.live_check
    readonlyRootFilesystem = var.readonly_root_filesystem
    mountPoints            = local.scratch_volume
    stopTimeout            = 30
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.app["web"].name
        awslogs-region        = local.region
        awslogs-stream-prefix = "proxy"
      }
    }
  }

  # Null fields (the web role's command, the worker's health check) are left out of the JSON.
  container_definitions = {
    for role, c in local.containers : role => jsonencode(concat([{
      for field, value in {
        name                   = role
        image                  = local.image
        essential              = true
        command                = c.command
        environment            = [for k, v in c.environment : { name = k, value = v }]
        secrets                = local.app_secrets
        healthCheck            = c.health
        readonlyRootFilesystem = var.readonly_root_filesystem
        mountPoints            = local.scratch_volume
        stopTimeout            = c.stop_timeout
        logConfiguration = {
          logDriver = "awslogs"
          options = {
            awslogs-group         = aws_cloudwatch_log_group.app[role].name
            awslogs-region        = local.region
            awslogs-stream-prefix = role
          }
        }
      } : field => value if value != null
    }], role == "web" ? [local.proxy_container] : []))
  }

  task_sizes = {
    web     = { cpu = var.web_cpu, memory = var.web_memory, role = aws_iam_role.web.arn }
    worker  = { cpu = var.worker_cpu, memory = var.worker_memory, role = aws_iam_role.worker.arn }
    migrate = { cpu = var.web_cpu, memory = var.web_memory, role = aws_iam_role.web.arn }
  }
}

resource "aws_ecs_task_definition" "app" {
  #checkov:skip=CKV_AWS_336:Read-only root filesystem is var.readonly_root_filesystem: it needs the image to declare VOLUME /tmp owned by the app user, because Fargate bind mounts are root-owned (see README).
  for_each = local.task_sizes

  family                   = "${local.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = each.value.role
  container_definitions    = local.container_definitions[each.key]

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  dynamic "volume" {
    for_each = var.readonly_root_filesystem ? ["tmp"] : []
    content {
      name = volume.value
    }
  }
}

resource "aws_ecs_service" "web" {
  name                              = "${local.name}-web"
  cluster                           = aws_ecs_cluster.main.id
  task_definition                   = aws_ecs_task_definition.app["web"].arn
  desired_count                     = var.web_min_count
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = 60
  propagate_tags                    = "SERVICE"
  enable_ecs_managed_tags           = true

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.web.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.web.arn
    container_name   = "proxy"
    container_port   = local.app_port
  }

  # Deploys register new task definition revisions (new image) and autoscaling moves the
  # count: Terraform must not put either back.
  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [aws_lb_listener.https]
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_ecs_service" "worker" {
  name            = "${local.name}-worker"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.app["worker"].arn
  desired_count   = var.worker_min_count

  # On Fargate Spot a worker may be stopped with two minutes' notice; its job is then picked
  # up again by the sweep (the row is the truth), so only time is lost.
  launch_type = var.worker_spot ? null : "FARGATE"

  dynamic "capacity_provider_strategy" {
    for_each = var.worker_spot ? ["FARGATE_SPOT"] : []
    content {
      capacity_provider = capacity_provider_strategy.value
      weight            = 1
    }
  }

  platform_version        = "LATEST"
  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.worker.id]
    assign_public_ip = false
  }

  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [aws_ecs_cluster_capacity_providers.main]
}
