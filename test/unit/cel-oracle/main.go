// Answers for kube-apiserver's admission CEL (k8s.io/apiserver v0.32.2's base environment, strict cost, as
// ValidatingAdmissionPolicy compiles expressions): each stdin line is an expression, its variables (JSON, decoded as
// kube decodes objects: integral numbers int64) and an optional cost limit; each stdout line is the value (JSON), its
// CEL type, or the compile or evaluation error, and the actual cost.
package main

import (
	"bufio"
	stdjson "encoding/json"
	"fmt"
	"math"
	"os"
	"sort"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"k8s.io/apimachinery/pkg/util/json" // integral numbers as int64, as kube decodes objects
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/cel/environment"
)

type question struct {
	Expression string             `json:"expression"`
	Variables  stdjson.RawMessage `json:"variables"`
	CostLimit  uint64             `json:"costLimit,omitempty"`
}

type answer struct {
	Value        any    `json:"value,omitempty"`
	Type         string `json:"type,omitempty"`
	CompileError string `json:"compileError,omitempty"`
	Error        string `json:"error,omitempty"`
	Cost         uint64 `json:"cost"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 256<<20)
	out := stdjsonEncoder()
	base := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion(), true)
	for in.Scan() {
		var q question
		if err := stdjson.Unmarshal(in.Bytes(), &q); err != nil {
			panic(err)
		}
		out(ask(base, q))
	}
}

func ask(base *environment.EnvSet, q question) answer {
	vars := map[string]any{}
	if len(q.Variables) > 0 {
		if err := json.Unmarshal(q.Variables, &vars); err != nil {
			panic(err)
		}
	}
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	var opts []cel.EnvOption
	for _, name := range names {
		opts = append(opts, cel.Variable(name, cel.DynType))
	}
	set, err := base.Extend(environment.VersionedOptions{IntroducedVersion: version.MajorMinor(1, 0), EnvOptions: opts})
	if err != nil {
		panic(err)
	}
	env, err := set.Env(environment.StoredExpressions)
	if err != nil {
		panic(err)
	}
	ast, issues := env.Compile(q.Expression)
	if issues != nil {
		return answer{CompileError: issues.String()}
	}
	var progOpts []cel.ProgramOption
	if q.CostLimit > 0 {
		progOpts = append(progOpts, cel.CostLimit(q.CostLimit))
	}
	prog, err := env.Program(ast, progOpts...)
	if err != nil {
		// kube refuses the expression as it compiles it ("program instantiation failed: ..."), e.g. a bad constant regex
		return answer{CompileError: "program instantiation failed: " + err.Error()}
	}
	val, details, err := prog.Eval(vars)
	var cost uint64
	if details != nil && details.ActualCost() != nil {
		cost = *details.ActualCost()
	}
	if err != nil {
		return answer{Error: err.Error(), Cost: cost}
	}
	return answer{Value: native(val), Type: val.Type().(ref.Type).TypeName(), Cost: cost}
}

// native gives a CEL value as JSON: an optional as {"optional": value} (none without "optional").
func native(val ref.Val) any {
	switch v := val.(type) {
	case types.Bool:
		return bool(v)
	case types.String:
		return string(v)
	case types.Int:
		return int64(v)
	case types.Uint:
		return uint64(v)
	case types.Double:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprint(f)
		}
		return f
	case types.Null:
		return nil
	case *types.Optional:
		if !v.HasValue() {
			return map[string]any{}
		}
		return map[string]any{"optional": native(v.GetValue())}
	case traits.Lister:
		items := []any{}
		for it := v.Iterator(); it.HasNext() == types.True; {
			items = append(items, native(it.Next()))
		}
		return items
	case traits.Mapper:
		m := map[string]any{}
		for it := v.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			m[fmt.Sprint(k.Value())] = native(v.Get(k))
		}
		return m
	}
	return fmt.Sprint(val.Value())
}
