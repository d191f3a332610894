terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  # Exact versions: a provider upgrade is a reviewed change, not a side effect
  # of the next `terraform init`. The lock file (.terraform.lock.hcl) written
  # by init pins the checksums too; commit it in the root module that uses
  # this one.
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "3.7.2"
    }
  }
}
