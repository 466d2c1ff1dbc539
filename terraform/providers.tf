provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project     = var.project
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# The two zones are named (var.availability_zones, or <region>a and <region>b), so the set
# never changes under us; the data source proves they exist and are available.
data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "zone-name"
    values = local.az_names
  }

  lifecycle {
    postcondition {
      condition     = length(self.names) == 2
      error_message = "Both availability zones (${join(", ", local.az_names)}) must exist and be available in ${var.aws_region}."
    }
  }
}
