// Command policy-match-oracle answers, for each JSON line {criteria, request, namespace} on stdin, whether
// k8s.io/apiserver's policy matching.Matcher (v0.32.2) selects the request: one JSON line {matches} or {error}.
package main

import (
	"bufio"
	"encoding/json"
	"os"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/policy/matching"
	"k8s.io/client-go/kubernetes/fake"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

type request struct {
	Operation   string            `json:"operation"`
	Group       string            `json:"group"`
	Version     string            `json:"version"`
	Resource    string            `json:"resource"`
	Subresource string            `json:"subresource"`
	Kind        string            `json:"kind"`
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels"`
	OldLabels   map[string]string `json:"oldLabels"`
}

type query struct {
	Criteria  admissionregistrationv1.MatchResources `json:"criteria"`
	Request   request                                `json:"request"`
	Namespace *map[string]string                     `json:"namespace"`
}

type answer struct {
	Matches bool    `json:"matches"`
	Error   *string `json:"error,omitempty"`
}

type criteria struct{ resources admissionregistrationv1.MatchResources }

func (c criteria) GetParsedNamespaceSelector() (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(c.resources.NamespaceSelector)
}
func (c criteria) GetParsedObjectSelector() (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(c.resources.ObjectSelector)
}
func (c criteria) GetMatchResources() admissionregistrationv1.MatchResources { return c.resources }

func object(r request, l map[string]string) runtime.Object {
	if l == nil {
		return nil
	}
	u := &unstructured.Unstructured{Object: map[string]interface{}{}}
	u.SetName(r.Name)
	u.SetLabels(l)
	return u
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	interfaces := admission.NewObjectInterfacesFromScheme(runtime.NewScheme())
	for in.Scan() {
		var q query
		if err := json.Unmarshal(in.Bytes(), &q); err != nil {
			panic(err)
		}
		indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
		if q.Namespace != nil && q.Request.Namespace != "" {
			if err := indexer.Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: q.Request.Namespace, Labels: *q.Namespace}}); err != nil {
				panic(err)
			}
		}
		matcher := matching.NewMatcher(listersv1.NewNamespaceLister(indexer), fake.NewSimpleClientset())
		r := q.Request
		attributes := admission.NewAttributesRecord(
			object(r, r.Labels), object(r, r.OldLabels),
			schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind},
			r.Namespace, r.Name,
			schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Resource},
			r.Subresource, admission.Operation(r.Operation), nil, false, nil)
		matches, _, _, err := matcher.Matches(attributes, interfaces, criteria{q.Criteria})
		a := answer{Matches: matches}
		if err != nil {
			msg := err.Error()
			a.Error = &msg
		}
		if err := enc.Encode(a); err != nil {
			panic(err)
		}
	}
	if err := in.Err(); err != nil {
		panic(err)
	}
}
