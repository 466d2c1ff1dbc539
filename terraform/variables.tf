# ---------------------------------------------------------------------------------------
# Naming and place
# ---------------------------------------------------------------------------------------

variable "project" {
  description = "Prefix of every resource name: cluster, services (<project>-web, <project>-worker), task definition families, ECR repository, secrets (<project>/SECRET_KEY ...), log groups (/ecs/<project>-web ...). The deploy workflow and docs/operations.md use the default, practika. A second stack in the same account needs another prefix, e.g. practika-staging."
  type        = string
  default     = "practika"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.project))
    error_message = "project must be 2-20 lowercase letters, digits or dashes, starting with a letter (load balancer and target group names are limited to 32 characters)."
  }
}

variable "environment" {
  description = "Environment tag on every resource (production, staging, ...). The app runs with PRACTIKA_ENV=production whatever it says."
  type        = string
  default     = "production"
}

variable "aws_region" {
  description = "AWS region for everything (the app reads it as AWS_REGION for S3 and SES)."
  type        = string
  default     = "us-east-1"
}

# ---------------------------------------------------------------------------------------
# DNS and mail
# ---------------------------------------------------------------------------------------

variable "domain_name" {
  description = "The site's host name, e.g. practika.example.com. It gets the ACM certificate, the Route 53 alias to the load balancer, and becomes BASE_URL (https://<domain_name>)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lowercase host name such as practika.example.com."
  }
}

variable "hosted_zone_name" {
  description = "An existing public Route 53 hosted zone that contains domain_name, e.g. example.com."
  type        = string
}

variable "mail_domain" {
  description = "Domain verified in SES (with DKIM) and used for MAIL_FROM. Empty means domain_name. It must be in hosted_zone_name."
  type        = string
  default     = ""
}

variable "mail_from_local_part" {
  description = "Local part of the sender address: MAIL_FROM becomes \"Practika <local_part@mail_domain>\"."
  type        = string
  default     = "no-reply"
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm SNS topic (each must confirm the subscription email)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must be email addresses."
  }
}

# ---------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------

variable "availability_zones" {
  description = "The two availability zones to use. Empty means <region>a and <region>b."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) == 2
    error_message = "availability_zones must list exactly two zones, or be empty."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; the four /24 subnets are carved from it (public 1-2, private 3-4)."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be a valid IPv4 CIDR block of /20 or larger."
  }
}

variable "single_nat_gateway" {
  description = "true: one NAT gateway shared by both private subnets (about $33/month less; an AZ outage also cuts the other AZ's tasks off from AWS APIs). false: one NAT gateway per AZ."
  type        = bool
  default     = true
}

variable "flow_log_traffic_type" {
  description = "Which VPC flow log records to keep: REJECT (cheap, shows blocked traffic), ACCEPT or ALL."
  type        = string
  default     = "REJECT"

  validation {
    condition     = contains(["ACCEPT", "REJECT", "ALL"], var.flow_log_traffic_type)
    error_message = "flow_log_traffic_type must be ACCEPT, REJECT or ALL."
  }
}

# ---------------------------------------------------------------------------------------
# Containers
# ---------------------------------------------------------------------------------------

variable "image_tag" {
  description = "Image tag in the ECR repository for the first deployment. Later deploys register new task definition revisions themselves (the services ignore task_definition changes), so this only matters when Terraform creates or changes the task definitions."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be a valid Docker tag and not \"latest\" (the repository's tags are immutable: use the commit SHA)."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the image: X86_64, or ARM64 (Graviton, about 20% cheaper, needs an arm64 image)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "web_cpu" {
  description = "CPU units of one web task (256 = 0.25 vCPU)."
  type        = number
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.web_cpu)
    error_message = "web_cpu must be a Fargate size: 256, 512, 1024, 2048 or 4096."
  }
}

variable "web_memory" {
  description = "Memory of one web task in MiB (must be a valid Fargate pair with web_cpu; 512 fits 256 CPU)."
  type        = number
  default     = 512

  validation {
    # 256 CPU: 512, 1024 or 2048 MiB. Above: 2x to 8x the CPU units (7.5x from 4096), in
    # steps of 1 GiB up to 4096 CPU and of half the CPU units beyond.
    condition = (
      var.web_cpu == 256 ? contains([512, 1024, 2048], var.web_memory) : (
        var.web_memory >= 2 * var.web_cpu
        && var.web_memory <= (var.web_cpu <= 2048 ? 8 : 7.5) * var.web_cpu
        && var.web_memory % (var.web_cpu <= 4096 ? 1024 : var.web_cpu / 2) == 0
      )
    )
    error_message = "web_memory is not a Fargate size for web_cpu (e.g. 256 CPU: 512-2048 MiB; 1024 CPU: 2048-8192 MiB in 1024 steps)."
  }
}

variable "web_concurrency" {
  description = "Gunicorn worker processes per web task (WEB_CONCURRENCY); each runs WEB_THREADS=4 threads."
  type        = number
  default     = 2

  validation {
    condition     = var.web_concurrency >= 1 && var.web_concurrency <= 16
    error_message = "web_concurrency must be between 1 and 16."
  }
}

variable "worker_cpu" {
  description = "CPU units of one worker task. FFmpeg transcodes are CPU bound: 1024 (1 vCPU) turns a 30 s 1080p video around in well under a minute."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.worker_cpu)
    error_message = "worker_cpu must be a Fargate size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "worker_memory" {
  description = "Memory of one worker task in MiB (must be a valid Fargate pair with worker_cpu)."
  type        = number
  default     = 2048

  validation {
    # 256 CPU: 512, 1024 or 2048 MiB. Above: 2x to 8x the CPU units (7.5x from 4096), in
    # steps of 1 GiB up to 4096 CPU and of half the CPU units beyond.
    condition = (
      var.worker_cpu == 256 ? contains([512, 1024, 2048], var.worker_memory) : (
        var.worker_memory >= 2 * var.worker_cpu
        && var.worker_memory <= (var.worker_cpu <= 2048 ? 8 : 7.5) * var.worker_cpu
        && var.worker_memory % (var.worker_cpu <= 4096 ? 1024 : var.worker_cpu / 2) == 0
      )
    )
    error_message = "worker_memory is not a Fargate size for worker_cpu (e.g. 256 CPU: 512-2048 MiB; 1024 CPU: 2048-8192 MiB in 1024 steps)."
  }
}

variable "worker_spot" {
  description = "Run the workers on Fargate Spot (about 70% cheaper; a worker may be stopped with two minutes' notice, and its job is redone by the sweep). Switching replaces the worker service."
  type        = bool
  default     = false
}

variable "web_min_count" {
  description = "Fewest web tasks; autoscaling never goes below it."
  type        = number
  default     = 1

  validation {
    condition     = var.web_min_count >= 1
    error_message = "web_min_count must be at least 1."
  }
}

variable "web_max_count" {
  description = "Most web tasks autoscaling may run."
  type        = number
  default     = 4
}

variable "worker_min_count" {
  description = "Fewest worker tasks. At least 1: nothing is processed, mailed or swept (the sweep re-enqueues lost jobs) without a worker, and /core/health/ (monitoring, deploys) answers 503 while none runs."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_min_count >= 1
    error_message = "worker_min_count must be at least 1: without a worker no video is processed and no mail is sent."
  }
}

variable "worker_max_count" {
  description = "Most worker tasks queue-depth autoscaling may run."
  type        = number
  default     = 4
}

variable "web_cpu_target" {
  description = "Average CPU utilisation (percent) the web service's target tracking keeps."
  type        = number
  default     = 60

  validation {
    condition     = var.web_cpu_target >= 10 && var.web_cpu_target <= 90
    error_message = "web_cpu_target must be between 10 and 90."
  }
}

variable "web_requests_per_target" {
  description = "ALB requests per web task per minute that target tracking keeps (ALBRequestCountPerTarget)."
  type        = number
  default     = 1200
}

variable "worker_scale_out_depth" {
  description = "Media jobs waiting (not yet started) at or above which workers are added, one every two minutes while it lasts (two at four times this). Waiting jobs mean every worker is busy. The metric contract: namespace Practika, metric QueueDepth, dimension Queue=media (see README)."
  type        = number
  default     = 2

  validation {
    condition     = var.worker_scale_out_depth >= 1
    error_message = "worker_scale_out_depth must be at least 1."
  }
}

variable "worker_scale_in_idle_minutes" {
  description = "Minutes with no media job waiting before one worker is stopped (then one more after each further such period, down to worker_min_count)."
  type        = number
  default     = 15

  validation {
    condition     = var.worker_scale_in_idle_minutes >= 5
    error_message = "worker_scale_in_idle_minutes must be at least 5."
  }
}

variable "container_insights" {
  description = "ECS Container Insights (per-task CPU, memory, network metrics). Off by default: at this size it adds roughly $5-10/month of custom metrics and log ingestion."
  type        = string
  default     = "disabled"

  validation {
    condition     = contains(["enabled", "enhanced", "disabled"], var.container_insights)
    error_message = "container_insights must be enabled, enhanced or disabled."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps application, database and flow logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ..., 365, ...)."
  }
}

variable "extra_environment" {
  description = "More plain (non-secret) settings for every container, e.g. { MAX_UPLOAD_MB = \"2048\" }. See the configuration table in README.md for the names."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------
# Data stores
# ---------------------------------------------------------------------------------------

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_engine_version" {
  description = "PostgreSQL major version (minor versions are upgraded automatically in the maintenance window)."
  type        = string
  default     = "16"
}

variable "db_allocated_storage" {
  description = "Initial database storage in GiB (gp3)."
  type        = number
  default     = 20

  validation {
    condition     = var.db_allocated_storage >= 20
    error_message = "db_allocated_storage must be at least 20 GiB."
  }
}

variable "db_max_allocated_storage" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  default     = 100
}

variable "db_multi_az" {
  description = "Standby replica in the second AZ with automatic failover (doubles the instance cost)."
  type        = bool
  default     = false
}

variable "db_backup_retention_days" {
  description = "Days of automated backups (point-in-time restore window)."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 1 and 35."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the database and the load balancer (turn off deliberately, and apply, before a destroy)."
  type        = bool
  default     = true
}

variable "db_performance_insights" {
  description = "Performance Insights (7 days of retention is in the free tier)."
  type        = bool
  default     = true
}

variable "db_password_version" {
  description = "Bump to generate a new database password: it is written to RDS and to the DATABASE_URL secret in the same apply, then force a new deployment of the services."
  type        = number
  default     = 1
}

variable "secret_key_version" {
  description = "Bump to generate a new Flask SECRET_KEY (this signs everyone out), then force a new deployment."
  type        = number
  default     = 1
}

variable "metrics_token_version" {
  description = "Bump to generate a new METRICS_TOKEN (the bearer token of GET /core/metrics), then force a new deployment."
  type        = number
  default     = 1
}

variable "redis_auth_version" {
  description = "Bump to generate a new Redis AUTH token (rotated with the ROTATE strategy, so the old token keeps working until the services are redeployed)."
  type        = number
  default     = 1
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.micro"
}

variable "redis_nodes" {
  description = "Redis nodes: 1 (no replica), or 2-3 for a replica in the other AZ with automatic failover."
  type        = number
  default     = 1

  validation {
    condition     = var.redis_nodes >= 1 && var.redis_nodes <= 3
    error_message = "redis_nodes must be 1, 2 or 3."
  }
}

variable "media_bucket_name" {
  description = "Name of the S3 media bucket. Empty means <project>-<environment>-media-<account id>."
  type        = string
  default     = ""
}

variable "media_prefix" {
  description = "Key prefix of the media in the bucket: STORAGE_URL becomes s3://<bucket>/<prefix>, and the task roles reach only keys under it."
  type        = string
  default     = "media"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*$", var.media_prefix))
    error_message = "media_prefix must be a single path segment of lowercase letters, digits, dashes or underscores."
  }
}

variable "media_noncurrent_days" {
  description = "Days an overwritten or deleted media object's old version is kept before it expires."
  type        = number
  default     = 30
}

# ---------------------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------------------

variable "alarm_5xx_percent" {
  description = "Alarm when more than this share (percent) of requests over 5 minutes answer 5xx (load balancer and targets together; only with at least 20 requests)."
  type        = number
  default     = 5
}

variable "alarm_queue_depth" {
  description = "Alarm when this many media jobs or more have been waiting for 15 minutes (the workers are at their maximum or stuck), or when the app stops publishing QueueDepth."
  type        = number
  default     = 20
}

variable "job_queues" {
  description = "RQ queues whose failed jobs raise an alarm (metric FailedJobs, dimension Queue)."
  type        = list(string)
  default     = ["media", "mail", "webhooks"]
}

# ---------------------------------------------------------------------------------------
# Deployment from GitHub Actions
# ---------------------------------------------------------------------------------------

variable "github_repository" {
  description = "owner/name of the GitHub repository whose Actions deploy (via OIDC). Empty: no deploy role is made."
  type        = string
  default     = ""

  validation {
    condition     = var.github_repository == "" || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name, or empty."
  }
}

variable "github_deploy_ref" {
  description = "What in the OIDC token's sub claim (after repo:<owner>/<name>:) may assume the deploy role. deploy.yml runs its AWS jobs in the GitHub environment production, so the claim is environment:production; a branch would be ref:refs/heads/main."
  type        = string
  default     = "environment:production"
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC identity provider (there can be only one per account: false when it exists already)."
  type        = bool
  default     = true
}

variable "readonly_root_filesystem" {
  description = "Run the containers with a read-only root filesystem and a scratch volume on /tmp. Needs an image that declares VOLUME /tmp owned by its user (Fargate bind mounts are root-owned 0755 otherwise, and the non-root app could not write its temporary files)."
  type        = bool
  default     = false
}
