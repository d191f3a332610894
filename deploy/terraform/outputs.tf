output "url" {
  description = "HTTPS address of the load balancer (point your DNS name at it)."
  value       = "https://${aws_lb.this.dns_name}"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the load balancer, for an alias record."
  value       = aws_lb.this.zone_id
}

output "ecs_cluster_name" {
  description = "ECS cluster, for running the migration task."
  value       = aws_ecs_cluster.this.name
}

output "ecs_service_name" {
  description = "ECS service of Bursar."
  value       = aws_ecs_service.this.name
}

output "task_definition_arn" {
  description = "Task definition, for running `bursar migrate` as a one-off task."
  value       = aws_ecs_task_definition.this.arn
}

output "task_security_group_id" {
  description = "Security group of the tasks (the migration task uses it too)."
  value       = aws_security_group.tasks.id
}

output "database_endpoint" {
  description = "Address of the PostgreSQL instance."
  value       = aws_db_instance.this.address
}

output "database_url_secret_arn" {
  description = "Secrets Manager secret holding BURSAR_DATABASE_URL."
  value       = aws_secretsmanager_secret.database_url.arn
}

output "key_file_secret_arn" {
  description = "Secrets Manager secret for the vault key file (value put by the operator)."
  value       = aws_secretsmanager_secret.key_file.arn
}

output "kms_key_arn" {
  description = "Customer-managed KMS key that encrypts the database, secrets and logs."
  value       = aws_kms_key.this.arn
}

output "web_acl_arn" {
  description = "WAFv2 web ACL in front of the load balancer."
  value       = aws_wafv2_web_acl.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the application."
  value       = aws_cloudwatch_log_group.app.name
}
