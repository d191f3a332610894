variable "name" {
  description = "Name prefix for every resource (letters, digits and hyphens)."
  type        = string
  default     = "bursar"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2 to 31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "image" {
  description = "Container image of Bursar with a pinned tag or digest (never latest), e.g. 123456789012.dkr.ecr.eu-central-1.amazonaws.com/bursar:0.1.0."
  type        = string

  validation {
    condition     = can(regex("(:[A-Za-z0-9_][A-Za-z0-9_.-]*|@sha256:[a-f0-9]{64})$", var.image)) && !can(regex(":latest$", var.image))
    error_message = "image must carry a pinned tag or digest, and the tag must not be latest."
  }
}

variable "vpc_id" {
  description = "VPC to run in."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets for the load balancer (at least two availability zones)."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets without public addresses for the tasks and the database (at least two availability zones)."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate for the HTTPS listener."
  type        = string
}

variable "allowed_cidrs" {
  description = "Addresses allowed to reach the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "desired_count" {
  description = "Number of Bursar tasks; two or more spread over availability zones."
  type        = number
  default     = 2
}

variable "task_cpu" {
  description = "Fargate task CPU units."
  type        = number
  default     = 512
}

variable "task_memory" {
  description = "Fargate task memory in MiB."
  type        = number
  default     = 1024
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_engine_version" {
  description = "PostgreSQL major version."
  type        = string
  default     = "17"
}

variable "db_allocated_storage" {
  description = "Initial database storage in GiB."
  type        = number
  default     = 50
}

variable "db_max_allocated_storage" {
  description = "Upper bound for storage autoscaling in GiB."
  type        = number
  default     = 500
}

variable "db_multi_az" {
  description = "Run a standby in a second availability zone."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 14
}

variable "log_retention_days" {
  description = "Days to keep application and WAF logs."
  type        = number
  default     = 365
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes from one address before the WAF blocks it."
  type        = number
  default     = 2000
}

variable "alarm_actions" {
  description = "SNS topic ARNs notified when an alarm fires."
  type        = list(string)
  default     = []
}

variable "alarm_5xx_threshold" {
  description = "Target 5xx answers in 5 minutes that raise the alarm."
  type        = number
  default     = 10
}

variable "alarm_db_free_storage_bytes" {
  description = "Free database storage below which the alarm fires."
  type        = number
  default     = 5368709120
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
