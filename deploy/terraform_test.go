package deploy

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// readTerraform returns the module's .tf files by name.
func readTerraform(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("terraform", "*.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no .tf files in terraform/")
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(b)
	}
	return out
}

// blocks returns the bodies of every top-level `resource "typ" "name" {...}`
// in text, by name. Terraform files written by terraform fmt close a
// top-level block with a "}" alone at the start of a line, which is all this
// needs; the fmt check below keeps the files in that shape.
func blocks(text, kind, typ string) map[string]string {
	re := regexp.MustCompile(`(?m)^` + kind + ` "` + regexp.QuoteMeta(typ) + `"(?: "([^"]+)")? \{\n`)
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatchIndex(text, -1) {
		name := ""
		if m[2] >= 0 {
			name = text[m[2]:m[3]]
		}
		rest := text[m[1]:]
		end := strings.Index(rest, "\n}")
		if end < 0 {
			end = len(rest)
		}
		out[name] = rest[:end]
	}
	return out
}

// attr reports whether body sets name = value at any depth.
func attr(body, name, value string) bool {
	return regexp.MustCompile(`(?m)^\s*"?` + regexp.QuoteMeta(name) + `"?\s*=\s*` + regexp.QuoteMeta(value) + `\s*(#.*)?$`).MatchString(body)
}

func TestTerraformModule(t *testing.T) {
	files := readTerraform(t)
	var all strings.Builder
	for _, text := range files {
		all.WriteString(text + "\n")
	}
	text := all.String()
	resources := func(typ string) map[string]string {
		r := blocks(text, "resource", typ)
		if len(r) == 0 {
			t.Errorf("no resource %q", typ)
		}
		return r
	}

	for name, body := range resources("aws_db_instance") {
		for _, want := range [][2]string{
			{"storage_encrypted", "true"},
			{"kms_key_id", "aws_kms_key.this.arn"},
			{"publicly_accessible", "false"},
			{"deletion_protection", "true"},
		} {
			if !attr(body, want[0], want[1]) {
				t.Errorf("aws_db_instance.%s: want %s = %s", name, want[0], want[1])
			}
		}
	}
	for name, body := range resources("aws_kms_key") {
		if !attr(body, "enable_key_rotation", "true") {
			t.Errorf("aws_kms_key.%s: want enable_key_rotation = true", name)
		}
	}
	for name, body := range resources("aws_secretsmanager_secret") {
		if !attr(body, "kms_key_id", "aws_kms_key.this.arn") {
			t.Errorf("aws_secretsmanager_secret.%s: want kms_key_id = aws_kms_key.this.arn", name)
		}
	}
	for name, body := range resources("aws_cloudwatch_log_group") {
		if !attr(body, "kms_key_id", "aws_kms_key.this.arn") || !strings.Contains(body, "retention_in_days") {
			t.Errorf("aws_cloudwatch_log_group.%s: want kms_key_id and retention_in_days", name)
		}
	}

	// The container runs as the image's non-root user with a read-only
	// root, no capabilities, and its database URL from Secrets Manager.
	for _, want := range [][2]string{
		{"readonlyRootFilesystem", "true"},
		{"user", `"65532:65532"`},
		{"privileged", "false"},
	} {
		if !attr(text, want[0], want[1]) {
			t.Errorf("container definition: want %s = %s", want[0], want[1])
		}
	}
	if !regexp.MustCompile(`capabilities\s*=\s*\{\s*drop\s*=\s*\["ALL"\]`).MatchString(text) {
		t.Errorf("container definition: want linuxParameters.capabilities.drop = [\"ALL\"]")
	}
	if !regexp.MustCompile(`name = "BURSAR_DATABASE_URL", valueFrom = aws_secretsmanager_secret\.`).MatchString(text) {
		t.Errorf("container definition: want BURSAR_DATABASE_URL in secrets, from Secrets Manager")
	}
	for name, body := range resources("aws_ecs_service") {
		if !attr(body, "assign_public_ip", "false") || !attr(body, "launch_type", `"FARGATE"`) {
			t.Errorf("aws_ecs_service.%s: want FARGATE without public addresses", name)
		}
	}

	// The load balancer answers HTTPS behind the WAF with AWS's managed rules.
	if len(resources("aws_wafv2_web_acl_association")) == 0 {
		t.Errorf("the web ACL is not associated with the load balancer")
	}
	acl := strings.Join(slices.Collect(maps.Values(resources("aws_wafv2_web_acl"))), "\n")
	if !strings.Contains(acl, "managed_rule_group_statement") || !attr(acl, "vendor_name", `"AWS"`) {
		t.Errorf("aws_wafv2_web_acl: want AWS managed rule group statements")
	}
	for _, rs := range []string{"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet", "AWSManagedRulesAmazonIpReputationList"} {
		if !strings.Contains(text, `"`+rs+`"`) {
			t.Errorf("WAF: managed rule group %s missing", rs)
		}
	}
	https := false
	for name, body := range resources("aws_lb_listener") {
		switch {
		case attr(body, "protocol", `"HTTPS"`) && strings.Contains(body, "ssl_policy"):
			https = true
		case attr(body, "type", `"redirect"`) && attr(body, "protocol", `"HTTPS"`):
		default:
			t.Errorf("aws_lb_listener.%s neither serves HTTPS nor redirects to it", name)
		}
	}
	if !https {
		t.Errorf("no HTTPS listener with an ssl_policy")
	}
	for _, metric := range []string{"HTTPCode_Target_5XX_Count", "CPUUtilization", "FreeStorageSpace"} {
		if !attr(text, "metric_name", `"`+metric+`"`) {
			t.Errorf("no CloudWatch alarm on %s", metric)
		}
	}

	// Providers are pinned to exact versions.
	versions := files["versions.tf"]
	pins := regexp.MustCompile(`(?m)^\s+version\s*=\s*"([^"]*)"`).FindAllStringSubmatch(versions, -1)
	if len(pins) == 0 {
		t.Errorf("versions.tf pins no provider")
	}
	for _, p := range pins {
		if !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(p[1]) {
			t.Errorf("versions.tf: provider version %q, want an exact version", p[1])
		}
	}
	for _, f := range []string{"variables.tf", "outputs.tf", "versions.tf", "README.md"} {
		if _, err := os.Stat(filepath.Join("terraform", f)); err != nil {
			t.Errorf("terraform module lacks %s", f)
		}
	}
}

// terraform fmt is the format check the issue asks for. Terraform is not in
// Debian's archive; the last release that installs from the Go module proxy
// is 1.5.7 (later ones carry replace directives that go install refuses).
// A developer without it gets a skip that says so; CI must have it.
func TestTerraformFmt(t *testing.T) {
	bin, err := exec.LookPath("terraform")
	if err != nil {
		const msg = "terraform is not on PATH, so `terraform fmt -check -recursive deploy/terraform` did not run; " +
			"install it with: go install github.com/hashicorp/terraform@v1.5.7"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "fmt", "-check", "-recursive", "-diff", "terraform")
	// An empty CLI configuration: the check must not depend on the
	// machine's ~/.terraformrc, and must not phone home.
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+os.DevNull, "CHECKPOINT_DISABLE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("terraform fmt -check -recursive deploy/terraform: %v\n%s", err, out)
	}
}
