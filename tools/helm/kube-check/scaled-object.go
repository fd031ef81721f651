package main

import "fmt"

// KEDA's ScaledObject and TriggerAuthentication (keda.sh/v1alpha1) are custom resources, not in k8s.io/api, and
// KEDA's own Go types do not build beside Helm's Kubernetes libraries: the fields the chart uses, as KEDA's CRDs
// define them, so that a misspelt or misplaced field is still refused.
// The header every resource has; embedded, so strict decoding still knows its fields.
type customResource struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
}

type scaledObject struct {
	customResource
	Spec struct {
		ScaleTargetRef struct {
			Name       string `json:"name"`
			APIVersion string `json:"apiVersion,omitempty"`
			Kind       string `json:"kind,omitempty"`
		} `json:"scaleTargetRef"`
		PollingInterval *int32 `json:"pollingInterval,omitempty"`
		CooldownPeriod  *int32 `json:"cooldownPeriod,omitempty"`
		MinReplicaCount *int32 `json:"minReplicaCount,omitempty"`
		MaxReplicaCount *int32 `json:"maxReplicaCount,omitempty"`
		Triggers        []struct {
			Type              string            `json:"type"`
			Name              string            `json:"name,omitempty"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef *struct {
				Name string `json:"name"`
				Kind string `json:"kind,omitempty"`
			} `json:"authenticationRef,omitempty"`
		} `json:"triggers"`
	} `json:"spec"`
}

type triggerAuthentication struct {
	customResource
	Spec struct {
		SecretTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secretTargetRef"`
	} `json:"spec"`
}

// Kafka's trigger keys (KEDA's kafka scaler) and the values its sasl and tls keys accept.
var kafkaTriggerKeys = map[string][]string{
	"bootstrapServers": nil, "consumerGroup": nil, "topic": nil, "lagThreshold": nil,
	"allowIdleConsumers": {"true", "false"}, "tls": {"enable", "disable"},
	"sasl": {"plaintext", "scram_sha256", "scram_sha512", "oauthbearer", "gssapi", "none"},
}

// checkScaledObject: a worker never needs more replicas than its topic has partitions, and the trigger names its
// group and topic with keys the kafka scaler knows.
func checkScaledObject(name string, o *scaledObject) {
	if o.Spec.ScaleTargetRef.Name == "" {
		fail(fmt.Errorf("%s: no scaleTargetRef.name", name))
	}
	if o.Spec.MaxReplicaCount == nil || *o.Spec.MaxReplicaCount > 6 {
		fail(fmt.Errorf("%s: maxReplicaCount must be set and at most the 6 partitions", name))
	}
	if len(o.Spec.Triggers) == 0 {
		fail(fmt.Errorf("%s: no triggers", name))
	}
	for _, trigger := range o.Spec.Triggers {
		if trigger.Type != "kafka" {
			fail(fmt.Errorf("%s: trigger type %q, the chart scales on kafka", name, trigger.Type))
		}
		for _, key := range []string{"bootstrapServers", "consumerGroup", "topic", "lagThreshold"} {
			if trigger.Metadata[key] == "" {
				fail(fmt.Errorf("%s: the kafka trigger has no %s", name, key))
			}
		}
		for key, value := range trigger.Metadata {
			allowed, known := kafkaTriggerKeys[key]
			if !known {
				fail(fmt.Errorf("%s: the kafka trigger has no key %q", name, key))
			}
			if allowed != nil && !contains(allowed, value) {
				fail(fmt.Errorf("%s: %s=%q, not one of %v", name, key, value, allowed))
			}
		}
	}
}

func contains(list []string, value string) bool {
	for _, item := range list {
		if item == value {
			return true
		}
	}
	return false
}
