// Package deploy holds what runs Bursar outside a developer's machine: the
// container image (Dockerfile), the Kubernetes manifests (kubernetes/) and
// the Terraform module for AWS (terraform/). It has no code; its tests read
// those files and fail when one of them loses a security property that
// docs/deploy.md and docs/security/threat-model.md promise, because none of
// them can be run on the machines that build Bursar.
package deploy
