locals {
  name       = var.project
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = var.aws_region

  az_names = length(var.availability_zones) > 0 ? var.availability_zones : ["${var.aws_region}a", "${var.aws_region}b"]
  azs      = sort(data.aws_availability_zones.available.names)

  base_url    = "https://${var.domain_name}"
  mail_domain = var.mail_domain != "" ? var.mail_domain : var.domain_name
  mail_from   = "Practika <${var.mail_from_local_part}@${local.mail_domain}>"

  media_bucket = var.media_bucket_name != "" ? var.media_bucket_name : "${local.name}-media-${local.account_id}"

  app_port = 8000

  # The contract with the app for custom metrics (README, "Metric contract").
  metric_namespace = "Practika"
}
