# Terraform 1.11 is the floor, not 1.5: the database password and SECRET_KEY are generated
# by an ephemeral resource and written through write-only arguments (`password_wo`,
# `secret_string_wo`), so neither is ever stored in the state. Both need Terraform >= 1.11.
terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100.0" # the version in the local mirror (/opt/tf-plugins); see README
    }
  }

  # State holds the Redis AUTH token and every resource id: keep it in an encrypted,
  # access-controlled S3 bucket. Values come from backend.hcl (see backend.hcl.example).
  backend "s3" {}
}
