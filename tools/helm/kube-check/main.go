// kube-check reads rendered Kubernetes manifests (helm template's output) on stdin and checks each object against
// the Kubernetes API types of k8s.io/api: a field the API does not have, a value of the wrong type or an invalid
// quantity is an error, as is a name the API server would refuse, a selector that does not match its pods, or a
// probe on a port the container does not name. It prints one line per object and exits 1 on the first problem.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

type typeMeta struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
}

// The API types known here; KEDA's resources are custom ones, checked by scaled-object.go.
func newObject(apiVersion, kind string) any {
	switch apiVersion + "/" + kind {
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}
	case "v1/Service":
		return &corev1.Service{}
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}
	case "keda.sh/v1alpha1/ScaledObject":
		return &scaledObject{}
	case "keda.sh/v1alpha1/TriggerAuthentication":
		return &triggerAuthentication{}
	}
	return nil
}

func main() {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(os.Stdin))
	count := 0
	for {
		doc, err := reader.Read()
		if err == io.EOF {
			break
		}
		fail(err)
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var meta typeMeta
		fail(yaml.Unmarshal(doc, &meta))
		name := fmt.Sprintf("%s %s", meta.Kind, meta.Metadata.Name)
		object := newObject(meta.APIVersion, meta.Kind)
		if object == nil {
			fail(fmt.Errorf("%s: unknown apiVersion/kind %s/%s", name, meta.APIVersion, meta.Kind))
		}
		if err := yaml.UnmarshalStrict(doc, object); err != nil {
			fail(fmt.Errorf("%s: %w", name, err))
		}
		for _, problem := range validation.IsDNS1123Subdomain(meta.Metadata.Name) {
			fail(fmt.Errorf("%s: name: %s", name, problem))
		}
		for _, problem := range checkLabels(meta.Metadata.Labels) {
			fail(fmt.Errorf("%s: %s", name, problem))
		}
		switch o := object.(type) {
		case *appsv1.Deployment:
			checkDeployment(name, o)
		case *scaledObject:
			checkScaledObject(name, o)
		}
		fmt.Printf("ok %s/%s %s\n", meta.APIVersion, meta.Kind, meta.Metadata.Name)
		count++
	}
	if count == 0 {
		fail(fmt.Errorf("no objects on stdin"))
	}
}

func checkLabels(set map[string]string) []string {
	var problems []string
	for key, value := range set {
		for _, p := range validation.IsQualifiedName(key) {
			problems = append(problems, fmt.Sprintf("label %q: %s", key, p))
		}
		for _, p := range validation.IsValidLabelValue(value) {
			problems = append(problems, fmt.Sprintf("label %s=%q: %s", key, value, p))
		}
	}
	return problems
}

func checkDeployment(name string, d *appsv1.Deployment) {
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	fail(err)
	if selector.Empty() || !selector.Matches(labels.Set(d.Spec.Template.Labels)) {
		fail(fmt.Errorf("%s: the selector %s does not match the pod template's labels", name, selector))
	}
	for _, p := range checkLabels(d.Spec.Template.Labels) {
		fail(fmt.Errorf("%s: pod template: %s", name, p))
	}
	if len(d.Spec.Template.Spec.Containers) == 0 {
		fail(fmt.Errorf("%s: no containers", name))
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		where := fmt.Sprintf("%s container %s", name, c.Name)
		if c.Image == "" {
			fail(fmt.Errorf("%s: no image", where))
		}
		ports := map[string]bool{}
		for _, port := range c.Ports {
			ports[port.Name] = true
			for _, p := range validation.IsValidPortNum(int(port.ContainerPort)) {
				fail(fmt.Errorf("%s: port %s: %s", where, port.Name, p))
			}
		}
		for kind, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
			if probe == nil || probe.HTTPGet == nil {
				fail(fmt.Errorf("%s: no HTTP %s probe", where, kind))
			}
			if port := probe.HTTPGet.Port; port.Type == intstr.String && !ports[port.StrVal] {
				fail(fmt.Errorf("%s: the %s probe names port %q, which the container does not have", where, kind, port.StrVal))
			}
		}
		for _, env := range c.Env {
			for _, p := range validation.IsEnvVarName(env.Name) {
				fail(fmt.Errorf("%s: env %s: %s", where, env.Name, p))
			}
		}
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			fail(fmt.Errorf("%s: memory requests and limits are required", where))
		}
		if c.Resources.Requests.Memory().Cmp(*c.Resources.Limits.Memory()) > 0 {
			fail(fmt.Errorf("%s: the memory request is above the limit", where))
		}
		volumes := map[string]bool{}
		for _, v := range d.Spec.Template.Spec.Volumes {
			volumes[v.Name] = true
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				fail(fmt.Errorf("%s: mounts volume %q, which the pod does not have", where, m.Name))
			}
		}
	}
}

func stripComments(doc []byte) []byte {
	var out []string
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			out = append(out, line)
		}
	}
	return []byte(strings.Join(out, "\n"))
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube-check:", err)
		os.Exit(1)
	}
}
