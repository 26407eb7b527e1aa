// Command quota-oracle answers, for each JSON line on stdin, what k8s.io/apimachinery's resource.Quantity and
// k8s.io/apiserver's resourcequota admission say: {quantity: {a, b}} gets both parsed and printed, their sum,
// difference and comparison; {check: {quotas, group, resource, name}} gets CheckRequest's answer for a create of
// that resource with kube's generic object-count evaluator: the quotas' status.used after it, or the error.
package main

import (
	"bufio"
	"encoding/json"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/resourcequota"
	"k8s.io/apiserver/pkg/quota/v1/generic"
)

type quantityQuestion struct {
	A string `json:"a"`
	B string `json:"b"`
}

type checkQuestion struct {
	Quotas   []corev1.ResourceQuota `json:"quotas"`
	Group    string                 `json:"group"`
	Resource string                 `json:"resource"`
	Name     string                 `json:"name"`
}

type question struct {
	Quantity *quantityQuestion `json:"quantity,omitempty"`
	Check    *checkQuestion    `json:"check,omitempty"`
}

type answer struct {
	Error string              `json:"error,omitempty"`
	A     string              `json:"a,omitempty"`
	B     string              `json:"b,omitempty"`
	Sum   string              `json:"sum,omitempty"`
	Diff  string              `json:"diff,omitempty"`
	Cmp   int                 `json:"cmp"`
	Used  []map[string]string `json:"used,omitempty"`
}

func quantity(q *quantityQuestion) answer {
	a, err := resource.ParseQuantity(q.A)
	if err != nil {
		return answer{Error: err.Error()}
	}
	b, err := resource.ParseQuantity(q.B)
	if err != nil {
		return answer{Error: err.Error()}
	}
	sum := a.DeepCopy()
	sum.Add(b)
	diff := a.DeepCopy()
	diff.Sub(b)
	return answer{A: a.String(), B: b.String(), Sum: sum.String(), Diff: diff.String(), Cmp: a.Cmp(b)}
}

func check(q *checkQuestion) answer {
	gr := schema.GroupResource{Group: q.Group, Resource: q.Resource}
	object := &unstructured.Unstructured{}
	object.SetName(q.Name)
	namespace := "quota"
	if len(q.Quotas) > 0 {
		namespace = q.Quotas[0].Namespace
	}
	object.SetNamespace(namespace)
	attributes := admission.NewAttributesRecord(object, nil, schema.GroupVersionKind{Group: q.Group, Version: "v1alpha1", Kind: "Thing"}, namespace, q.Name,
		gr.WithVersion("v1alpha1"), "", admission.Create, &metav1.CreateOptions{}, false, nil)
	quotas, err := resourcequota.CheckRequest(q.Quotas, attributes, generic.NewObjectCountEvaluator(gr, nil, ""), nil)
	if err != nil {
		return answer{Error: err.Error()}
	}
	used := make([]map[string]string, len(quotas))
	for i, quota := range quotas {
		used[i] = map[string]string{}
		for name, value := range quota.Status.Used {
			used[i][string(name)] = value.String()
		}
	}
	return answer{Used: used}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		var q question
		if err := json.Unmarshal(in.Bytes(), &q); err != nil {
			panic(err)
		}
		var a answer
		switch {
		case q.Quantity != nil:
			a = quantity(q.Quantity)
		case q.Check != nil:
			a = check(q.Check)
		}
		if err := enc.Encode(a); err != nil {
			panic(err)
		}
	}
	if err := in.Err(); err != nil {
		panic(err)
	}
}
