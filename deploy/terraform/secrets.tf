# The database URL, read by ECS at task start and handed to Bursar as
# BURSAR_DATABASE_URL; it never appears in the task definition.
resource "aws_secretsmanager_secret" "database_url" {
  name                    = "${var.name}/database-url"
  description             = "PostgreSQL URL for Bursar (BURSAR_DATABASE_URL)"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 30
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id     = aws_secretsmanager_secret.database_url.id
  secret_string = "postgres://${aws_db_instance.this.username}:${random_password.db.result}@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${aws_db_instance.this.db_name}?sslmode=require"
}

# The key-encryption key file of Bursar's vault. Its value is put by the
# operator (aws secretsmanager put-secret-value), never by Terraform, so that
# it stays out of the state.
resource "aws_secretsmanager_secret" "key_file" {
  name                    = "${var.name}/key-file"
  description             = "Bursar vault key-encryption key file"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 30
  tags                    = local.tags
}
