// Command field-error-oracle answers, for each JSON line {errors[]} on stdin, how k8s.io/apimachinery's
// field package words those errors: one JSON line {errors[{error, body}], aggregate} per input line, where
// aggregate is ErrorList.ToAggregate().Error(), the list as an Invalid Status message carries it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// value is a bad value with the Go type kube-apiserver holds it in: int64 and float64 as JSON numbers decode into
// unstructured content, metav1.Time for a timestamp.
type value struct {
	String *string  `json:"string,omitempty"`
	Int    *int64   `json:"int,omitempty"`
	Float  *float64 `json:"float,omitempty"`
	Bool   *bool    `json:"bool,omitempty"`
	Null   bool     `json:"null,omitempty"`
	Time   *string  `json:"time,omitempty"`
	// ZeroTime is an absent timestamp: metav1.Time's zero value.
	ZeroTime bool `json:"zeroTime,omitempty"`
}

func (v value) goValue() interface{} {
	switch {
	case v.String != nil:
		return *v.String
	case v.Int != nil:
		return *v.Int
	case v.Float != nil:
		return *v.Float
	case v.Bool != nil:
		return *v.Bool
	case v.Time != nil:
		var t metav1.Time
		if err := json.Unmarshal([]byte(fmt.Sprintf("%q", *v.Time)), &t); err != nil {
			panic(err)
		}
		return t
	case v.ZeroTime:
		return metav1.Time{}
	case v.Null:
		return nil
	}
	panic("a case without a value")
}

type fieldError struct {
	Fn        string   `json:"fn"`
	Field     string   `json:"field"`
	Value     value    `json:"value"`
	Detail    string   `json:"detail"`
	Supported []string `json:"supported"`
	Max       int      `json:"max"`
	Actual    int      `json:"actual"`
}

func (e fieldError) build() *field.Error {
	path := field.NewPath(e.Field)
	switch e.Fn {
	case "Required":
		return field.Required(path, e.Detail)
	case "Invalid":
		return field.Invalid(path, e.Value.goValue(), e.Detail)
	case "NotSupported":
		return field.NotSupported(path, e.Value.goValue(), e.Supported)
	case "Forbidden":
		return field.Forbidden(path, e.Detail)
	case "TooLong":
		return field.TooLong(path, e.Value.goValue(), e.Max)
	case "TooLongMaxLength":
		return field.TooLongMaxLength(path, e.Value.goValue(), e.Max)
	case "TooMany":
		return field.TooMany(path, e.Actual, e.Max)
	case "Duplicate":
		return field.Duplicate(path, e.Value.goValue())
	case "TypeInvalid":
		return field.TypeInvalid(path, e.Value.goValue(), e.Detail)
	}
	panic("unknown constructor " + e.Fn)
}

type query struct {
	Errors []fieldError `json:"errors"`
}

type rendered struct {
	Error string `json:"error"`
	Body  string `json:"body"`
}

type answer struct {
	Errors    []rendered `json:"errors"`
	Aggregate string     `json:"aggregate"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		var q query
		if err := json.Unmarshal(in.Bytes(), &q); err != nil {
			panic(err)
		}
		a := answer{Errors: []rendered{}}
		var list field.ErrorList
		for _, e := range q.Errors {
			built := e.build()
			list = append(list, built)
			a.Errors = append(a.Errors, rendered{Error: built.Error(), Body: built.ErrorBody()})
		}
		if agg := list.ToAggregate(); agg != nil {
			a.Aggregate = agg.Error()
		}
		if err := enc.Encode(a); err != nil {
			panic(err)
		}
	}
	if err := in.Err(); err != nil {
		panic(err)
	}
}
