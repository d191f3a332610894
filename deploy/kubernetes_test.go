package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The subset of the Kubernetes API that the checks read. Pointers tell a
// missing field from a false one: a missing readOnlyRootFilesystem is a
// writable root.

type object struct {
	APIVersion string         `yaml:"apiVersion"`
	Kind       string         `yaml:"kind"`
	Metadata   objectMetadata `yaml:"metadata"`
	Spec       yaml.Node      `yaml:"spec"`
	// Kustomization fields live at the top level.
	Resources []string `yaml:"resources"`
	Images    []struct {
		Name   string `yaml:"name"`
		NewTag string `yaml:"newTag"`
		Digest string `yaml:"digest"`
	} `yaml:"images"`
	AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`

	file string
	raw  map[string]any
}

type objectMetadata struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type podTemplate struct {
	Metadata objectMetadata `yaml:"metadata"`
	Spec     podSpec        `yaml:"spec"`
}

type podSpec struct {
	ServiceAccountName           string              `yaml:"serviceAccountName"`
	AutomountServiceAccountToken *bool               `yaml:"automountServiceAccountToken"`
	HostNetwork                  bool                `yaml:"hostNetwork"`
	HostPID                      bool                `yaml:"hostPID"`
	HostIPC                      bool                `yaml:"hostIPC"`
	SecurityContext              *podSecurityContext `yaml:"securityContext"`
	InitContainers               []container         `yaml:"initContainers"`
	Containers                   []container         `yaml:"containers"`
	Volumes                      []struct {
		Name     string    `yaml:"name"`
		EmptyDir *struct{} `yaml:"emptyDir"`
		HostPath *struct{} `yaml:"hostPath"`
	} `yaml:"volumes"`
}

type seccompProfile struct {
	Type string `yaml:"type"`
}

type podSecurityContext struct {
	RunAsNonRoot   *bool           `yaml:"runAsNonRoot"`
	RunAsUser      *int64          `yaml:"runAsUser"`
	RunAsGroup     *int64          `yaml:"runAsGroup"`
	FSGroup        *int64          `yaml:"fsGroup"`
	SeccompProfile *seccompProfile `yaml:"seccompProfile"`
}

type containerSecurityContext struct {
	RunAsNonRoot             *bool           `yaml:"runAsNonRoot"`
	RunAsUser                *int64          `yaml:"runAsUser"`
	RunAsGroup               *int64          `yaml:"runAsGroup"`
	ReadOnlyRootFilesystem   *bool           `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool           `yaml:"allowPrivilegeEscalation"`
	Privileged               *bool           `yaml:"privileged"`
	SeccompProfile           *seccompProfile `yaml:"seccompProfile"`
	Capabilities             *struct {
		Drop []string `yaml:"drop"`
		Add  []string `yaml:"add"`
	} `yaml:"capabilities"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

type container struct {
	Name            string                    `yaml:"name"`
	Image           string                    `yaml:"image"`
	Args            []string                  `yaml:"args"`
	SecurityContext *containerSecurityContext `yaml:"securityContext"`
	LivenessProbe   *probe                    `yaml:"livenessProbe"`
	ReadinessProbe  *probe                    `yaml:"readinessProbe"`
	Resources       struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type workloadSpec struct {
	Selector labelSelector `yaml:"selector"`
	Template podTemplate   `yaml:"template"`
}

// loadManifests reads every YAML document under dir.
func loadManifests(t *testing.T, dir string) []object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if yml, _ := filepath.Glob(filepath.Join(dir, "*.yml")); len(yml) > 0 {
		t.Fatalf("%v: name manifests *.yaml, so that every check and kustomize sees them", yml)
	}
	var objs []object
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Decode each document twice: typed for the checks, generic to
		// find every image wherever it sits.
		typed := yaml.NewDecoder(bytes.NewReader(b))
		generic := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o object
			err := typed.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var raw map[string]any
			if err := generic.Decode(&raw); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.Kind == "" {
				t.Fatalf("%s: a document without kind", f)
			}
			o.file, o.raw = filepath.Base(f), raw
			objs = append(objs, o)
		}
	}
	if len(objs) == 0 {
		t.Fatalf("no manifests in %s", dir)
	}
	return objs
}

// podOf returns the pod template of a workload.
func podOf(t *testing.T, o object) workloadSpec {
	t.Helper()
	var w workloadSpec
	if err := o.Spec.Decode(&w); err != nil {
		t.Fatalf("%s %s: %v", o.Kind, o.Metadata.Name, err)
	}
	return w
}

// findImages collects the value of every "image" key in a document.
func findImages(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "image" {
				*out = append(*out, s)
				continue
			}
			findImages(x, out)
		}
	case []any:
		for _, x := range v {
			findImages(x, out)
		}
	}
}

// checkPodSecurity returns every security property that a pod spec misses;
// container settings override the pod's, as in Kubernetes.
func checkPodSecurity(p podSpec) []string {
	var bad []string
	if p.HostNetwork || p.HostPID || p.HostIPC {
		bad = append(bad, "shares a host namespace")
	}
	if p.AutomountServiceAccountToken == nil || *p.AutomountServiceAccountToken {
		bad = append(bad, "mounts a service account token (set automountServiceAccountToken: false)")
	}
	for _, v := range p.Volumes {
		if v.HostPath != nil {
			bad = append(bad, "volume "+v.Name+" is a hostPath")
		}
	}
	pod := p.SecurityContext
	if pod == nil {
		pod = &podSecurityContext{}
	}
	for _, c := range append(slices.Clone(p.InitContainers), p.Containers...) {
		sc := c.SecurityContext
		if sc == nil {
			sc = &containerSecurityContext{}
		}
		where := "container " + c.Name + ": "
		nonRoot, user := sc.RunAsNonRoot, sc.RunAsUser
		if nonRoot == nil {
			nonRoot = pod.RunAsNonRoot
		}
		if user == nil {
			user = pod.RunAsUser
		}
		if nonRoot == nil || !*nonRoot {
			bad = append(bad, where+"runAsNonRoot is not true")
		}
		if user == nil || *user == 0 {
			bad = append(bad, where+"runAsUser is not a non-root uid")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			bad = append(bad, where+"readOnlyRootFilesystem is not true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			bad = append(bad, where+"allowPrivilegeEscalation is not false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			bad = append(bad, where+"privileged")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			bad = append(bad, where+"capabilities do not drop ALL")
		} else if len(sc.Capabilities.Add) > 0 {
			bad = append(bad, where+"adds capabilities "+strings.Join(sc.Capabilities.Add, ","))
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = pod.SeccompProfile
		}
		if seccomp == nil || (seccomp.Type != "RuntimeDefault" && seccomp.Type != "Localhost") {
			bad = append(bad, where+"seccompProfile is not RuntimeDefault")
		}
		for _, r := range []string{"cpu", "memory"} {
			if c.Resources.Requests[r] == "" {
				bad = append(bad, where+"no resources.requests."+r)
			}
			if c.Resources.Limits[r] == "" {
				bad = append(bad, where+"no resources.limits."+r)
			}
		}
		if ok, why := imagePinned(c.Image); !ok {
			bad = append(bad, where+"image "+c.Image+": "+why)
		}
		for _, e := range c.Env {
			if strings.HasSuffix(e.Name, "DATABASE_URL") && (e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
				bad = append(bad, where+e.Name+" is not read from a Secret (secretKeyRef)")
			}
		}
		tmp := false
		for _, m := range c.VolumeMounts {
			if m.MountPath == "/tmp" {
				for _, v := range p.Volumes {
					tmp = tmp || (v.Name == m.Name && v.EmptyDir != nil)
				}
			}
		}
		if !tmp {
			bad = append(bad, where+"no emptyDir at /tmp (a read-only root leaves no other scratch space)")
		}
	}
	return bad
}

// The checks must catch a pod that lacks each property; an empty pod spec
// lacks them all.
func TestCheckPodSecurityCatchesAnInsecurePod(t *testing.T) {
	bad := checkPodSecurity(podSpec{HostNetwork: true, Containers: []container{{Name: "c", Image: "bursar"}}})
	for _, want := range []string{"host namespace", "service account token", "runAsNonRoot", "runAsUser", "readOnlyRootFilesystem",
		"allowPrivilegeEscalation", "drop ALL", "seccompProfile", "requests.cpu", "limits.memory", "no tag", "/tmp"} {
		found := false
		for _, b := range bad {
			found = found || strings.Contains(b, want)
		}
		if !found {
			t.Errorf("checkPodSecurity missed %q; reported %q", want, bad)
		}
	}
}

func TestKubernetesManifests(t *testing.T) {
	dir := "kubernetes"
	objs := loadManifests(t, dir)

	byKind := map[string][]object{}
	for _, o := range objs {
		byKind[o.Kind] = append(byKind[o.Kind], o)
		var images []string
		findImages(o.raw, &images)
		for _, img := range images {
			if ok, why := imagePinned(img); !ok {
				t.Errorf("%s: %s %s: image %s: %s", o.file, o.Kind, o.Metadata.Name, img, why)
			}
		}
	}
	known := []string{"Deployment", "Job", "Service", "PodDisruptionBudget", "NetworkPolicy", "ServiceAccount", "Kustomization"}
	for kind := range byKind {
		if !slices.Contains(known, kind) {
			t.Errorf("kind %s has no checks here: add them before adding the manifest", kind)
		}
	}
	for _, kind := range known {
		if len(byKind[kind]) != 1 {
			t.Errorf("%d %s manifests, want 1", len(byKind[kind]), kind)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	dep := podOf(t, byKind["Deployment"][0])
	job := podOf(t, byKind["Job"][0])
	for name, w := range map[string]workloadSpec{"Deployment": dep, "Job": job} {
		for _, b := range checkPodSecurity(w.Template.Spec) {
			t.Errorf("%s: %s", name, b)
		}
	}

	// The server's probes: liveness on /healthz, readiness on /readyz,
	// which also checks the database.
	for _, c := range dep.Template.Spec.Containers {
		if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
			t.Errorf("Deployment container %s: want livenessProbe httpGet /healthz", c.Name)
		}
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
			t.Errorf("Deployment container %s: want readinessProbe httpGet /readyz", c.Name)
		}
	}

	// The migration Job runs with exactly the server's security context.
	if !reflect.DeepEqual(dep.Template.Spec.SecurityContext, job.Template.Spec.SecurityContext) {
		t.Errorf("Job pod securityContext differs from the Deployment's")
	}
	if len(job.Template.Spec.Containers) != 1 || len(dep.Template.Spec.Containers) != 1 {
		t.Fatalf("want one container in the Deployment and one in the Job")
	}
	jc, dc := job.Template.Spec.Containers[0], dep.Template.Spec.Containers[0]
	if !reflect.DeepEqual(jc.SecurityContext, dc.SecurityContext) {
		t.Errorf("Job container securityContext differs from the Deployment's")
	}
	if jc.Image != dc.Image {
		t.Errorf("Job image %s, Deployment image %s: want the same", jc.Image, dc.Image)
	}
	if len(jc.Args) == 0 || jc.Args[0] != "migrate" {
		t.Errorf("Job args %q, want bursar migrate", jc.Args)
	}

	// Service, PodDisruptionBudget and NetworkPolicy select the server's pods.
	podLabels := dep.Template.Metadata.Labels
	matches := func(sel map[string]string, labels map[string]string) bool {
		if len(sel) == 0 {
			return false
		}
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return true
	}
	if !matches(dep.Selector.MatchLabels, podLabels) {
		t.Errorf("Deployment selector does not match its own pods")
	}
	var svc struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			TargetPort any `yaml:"targetPort"`
		} `yaml:"ports"`
	}
	if err := byKind["Service"][0].Spec.Decode(&svc); err != nil {
		t.Fatal(err)
	}
	if !matches(svc.Selector, podLabels) {
		t.Errorf("Service selector %v does not match the server's pods %v", svc.Selector, podLabels)
	}
	var pdb struct {
		Selector     labelSelector `yaml:"selector"`
		MinAvailable any           `yaml:"minAvailable"`
	}
	if err := byKind["PodDisruptionBudget"][0].Spec.Decode(&pdb); err != nil {
		t.Fatal(err)
	}
	if !matches(pdb.Selector.MatchLabels, podLabels) || pdb.MinAvailable == nil {
		t.Errorf("PodDisruptionBudget must select the server's pods and set minAvailable")
	}

	checkNetworkPolicy(t, byKind["NetworkPolicy"][0], podLabels, job.Template.Metadata.Labels)

	// The ServiceAccount carries no token into the pods either.
	if sa := byKind["ServiceAccount"][0]; sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("ServiceAccount %s: want automountServiceAccountToken: false", sa.Metadata.Name)
	}

	// kustomization.yaml lists every manifest, so that none escapes
	// `kubectl apply -k`, and pins the image it sets.
	k := byKind["Kustomization"][0]
	var want []string
	for _, o := range objs {
		if o.Kind != "Kustomization" && !slices.Contains(want, o.file) {
			want = append(want, o.file)
		}
	}
	got := slices.Clone(k.Resources)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("kustomization resources = %v, want every manifest %v", got, want)
	}
	for _, img := range k.Images {
		if img.Digest == "" && (img.NewTag == "" || strings.EqualFold(img.NewTag, "latest")) {
			t.Errorf("kustomization image %s: newTag %q, want a pinned tag or digest", img.Name, img.NewTag)
		}
	}
}

// checkNetworkPolicy asserts default deny both ways for every Bursar pod,
// ingress only to 8080, egress only to DNS, PostgreSQL, SMTP and HTTPS.
func checkNetworkPolicy(t *testing.T, o object, podLabelSets ...map[string]string) {
	t.Helper()
	type port struct {
		Protocol string `yaml:"protocol"`
		Port     int    `yaml:"port"`
	}
	var np struct {
		PodSelector labelSelector `yaml:"podSelector"`
		PolicyTypes []string      `yaml:"policyTypes"`
		Ingress     []struct {
			Ports []port `yaml:"ports"`
		} `yaml:"ingress"`
		Egress []struct {
			Ports []port `yaml:"ports"`
		} `yaml:"egress"`
	}
	if err := o.Spec.Decode(&np); err != nil {
		t.Fatal(err)
	}
	for _, labels := range podLabelSets {
		for k, v := range np.PodSelector.MatchLabels {
			if labels[k] != v {
				t.Errorf("NetworkPolicy podSelector %v does not select pods labelled %v", np.PodSelector.MatchLabels, labels)
			}
		}
	}
	if len(np.PodSelector.MatchLabels) == 0 {
		t.Errorf("NetworkPolicy selects every pod in the namespace; want Bursar's only")
	}
	if !slices.Contains(np.PolicyTypes, "Ingress") || !slices.Contains(np.PolicyTypes, "Egress") {
		t.Errorf("NetworkPolicy policyTypes %v, want Ingress and Egress", np.PolicyTypes)
	}
	if len(np.Ingress) == 0 {
		t.Errorf("NetworkPolicy lets no traffic in; want 8080")
	}
	for _, r := range np.Ingress {
		if len(r.Ports) == 0 {
			t.Errorf("NetworkPolicy ingress rule without ports opens every port")
		}
		for _, p := range r.Ports {
			if p.Port != 8080 || p.Protocol != "TCP" {
				t.Errorf("NetworkPolicy ingress to %s/%d, want only TCP/8080", p.Protocol, p.Port)
			}
		}
	}
	allowed := map[int]bool{53: true, 5432: true, 25: true, 465: true, 587: true, 443: true}
	seen := map[int]bool{}
	for _, r := range np.Egress {
		if len(r.Ports) == 0 {
			t.Errorf("NetworkPolicy egress rule without ports opens every port")
		}
		for _, p := range r.Ports {
			seen[p.Port] = true
			if !allowed[p.Port] {
				t.Errorf("NetworkPolicy egress to port %d, want only DNS, PostgreSQL, SMTP and HTTPS", p.Port)
			}
		}
	}
	for _, p := range []int{53, 5432, 443} {
		if !seen[p] {
			t.Errorf("NetworkPolicy has no egress to port %d", p)
		}
	}
}
