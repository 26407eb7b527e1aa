// Command go-types-oracle answers, for each JSON line {kind, expand[]} on stdin, the JSON shape encoding/json gives
// the kind registered under that name by clients/go's AddToScheme: one JSON line {known, types} per input line,
// known the kinds the scheme holds, types every struct of clients/go the kind reaches (and of expand, by component
// name) described field by field; other packages' types are named by their OpenAPI component, as kube-openapi names
// them. {error} when the kind is unknown.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"

	aiv1alpha1 "example.io/ai-apiserver/clients/go/apis/ai/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
)

type query struct {
	Kind   string   `json:"kind"`
	Expand []string `json:"expand"`
}

// shape is one JSON value's type: a scalar kind, an array of items, one of the described structs, or a component.
type shape struct {
	Kind      string `json:"kind"`
	Items     *shape `json:"items,omitempty"`
	Name      string `json:"name,omitempty"`
	Component string `json:"component,omitempty"`
	Pointer   bool   `json:"pointer,omitempty"`
}

type field struct {
	OmitEmpty bool  `json:"omitempty"`
	Type      shape `json:"type"`
}

type answer struct {
	Error *string                     `json:"error,omitempty"`
	Known []string                    `json:"known,omitempty"`
	Types map[string]map[string]field `json:"types,omitempty"`
}

var ours = reflect.TypeOf(aiv1alpha1.Notebook{}).PkgPath()

// component names a Go type as kube-openapi does: the package path with its host reversed, then the type name.
func component(t reflect.Type) string {
	parts := strings.Split(t.PkgPath(), "/")
	host := strings.Split(parts[0], ".")
	slices.Reverse(host)
	return strings.Join(append(append(host, parts[1:]...), t.Name()), ".")
}

// name is a struct's key in the answer: its Go name in clients/go, its component name elsewhere.
func name(t reflect.Type) string {
	if t.PkgPath() == ours {
		return t.Name()
	}
	return component(t)
}

type describer struct {
	expand map[string]bool
	types  map[string]map[string]field
}

func (d *describer) typeOf(t reflect.Type) shape {
	pointer := false
	if t.Kind() == reflect.Pointer {
		pointer, t = true, t.Elem()
	}
	var s shape
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int32, reflect.Int64, reflect.Float64:
		s = shape{Kind: t.Kind().String()}
	case reflect.Slice:
		items := d.typeOf(t.Elem())
		s = shape{Kind: "array", Items: &items}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			s = shape{Kind: "unsupported " + t.String()}
			break
		}
		values := d.typeOf(t.Elem())
		s = shape{Kind: "map", Items: &values}
	case reflect.Struct:
		if t.PkgPath() == ours || d.expand[component(t)] {
			s = shape{Kind: "object", Name: name(t)}
			d.describe(t)
		} else {
			s = shape{Kind: "component", Component: component(t)}
		}
	default:
		s = shape{Kind: "unsupported " + t.String()}
	}
	s.Pointer = pointer
	return s
}

func (d *describer) describe(t reflect.Type) {
	if _, done := d.types[name(t)]; done {
		return
	}
	fields := map[string]field{}
	d.types[name(t)] = fields
	d.fields(t, fields)
}

// fields follows encoding/json: an embedded struct without a JSON name is flattened into its parent.
func (d *describer) fields(t reflect.Type, into map[string]field) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, options, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			d.fields(f.Type, into)
			continue
		}
		if name == "" {
			name = f.Name
		}
		into[name] = field{OmitEmpty: slices.Contains(strings.Split(options, ","), "omitempty"), Type: d.typeOf(f.Type)}
	}
}

func main() {
	scheme := runtime.NewScheme()
	if err := aiv1alpha1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	var known []string
	for gvk, t := range scheme.AllKnownTypes() {
		if gvk.GroupVersion() == aiv1alpha1.SchemeGroupVersion && t.PkgPath() == ours {
			known = append(known, gvk.Kind)
		}
	}
	slices.Sort(known)
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		var q query
		if err := json.Unmarshal(in.Bytes(), &q); err != nil {
			panic(err)
		}
		var a answer
		object, err := scheme.New(aiv1alpha1.SchemeGroupVersion.WithKind(q.Kind))
		if err != nil {
			msg := err.Error()
			a.Error = &msg
		} else {
			d := describer{expand: map[string]bool{}, types: map[string]map[string]field{}}
			for _, name := range q.Expand {
				d.expand[name] = true
			}
			d.describe(reflect.TypeOf(object).Elem())
			a.Known, a.Types = known, d.types
		}
		if err := enc.Encode(a); err != nil {
			panic(err)
		}
	}
	if err := in.Err(); err != nil {
		panic(err)
	}
}
