// Answers for kube-apiserver's audit policy checker (k8s.io/apiserver v0.32.2): each stdin line is a policy (as a
// policy file holds it, in JSON) and a request's attributes; each stdout line is the level, stages omitted and
// omitManagedFields kube picks, or the error kube's policy loader refuses the policy with.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"sort"

	"k8s.io/apiserver/pkg/audit/policy"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

type question struct {
	Policy json.RawMessage `json:"policy"`
	Attrs  struct {
		User            string   `json:"user"`
		Groups          []string `json:"groups"`
		Verb            string   `json:"verb"`
		ResourceRequest bool     `json:"resourceRequest"`
		Group           string   `json:"group"`
		Resource        string   `json:"resource"`
		Subresource     string   `json:"subresource"`
		Namespace       string   `json:"namespace"`
		Name            string   `json:"name"`
		Path            string   `json:"path"`
	} `json:"attrs"`
}

type answer struct {
	Level             string   `json:"level,omitempty"`
	OmitStages        []string `json:"omitStages,omitempty"`
	OmitManagedFields bool     `json:"omitManagedFields,omitempty"`
	Error             string   `json:"error,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var q question
		if err := json.Unmarshal(in.Bytes(), &q); err != nil {
			panic(err)
		}
		p, err := policy.LoadPolicyFromBytes(q.Policy)
		if err != nil {
			_ = out.Encode(answer{Error: err.Error()})
			continue
		}
		a := q.Attrs
		config := policy.NewPolicyRuleEvaluator(p).EvaluatePolicyRule(authorizer.AttributesRecord{
			User:            &user.DefaultInfo{Name: a.User, Groups: a.Groups},
			Verb:            a.Verb,
			ResourceRequest: a.ResourceRequest,
			APIGroup:        a.Group,
			Resource:        a.Resource,
			Subresource:     a.Subresource,
			Namespace:       a.Namespace,
			Name:            a.Name,
			Path:            a.Path,
		})
		stages := []string{}
		for _, s := range config.OmitStages {
			stages = append(stages, string(s))
		}
		sort.Strings(stages)
		_ = out.Encode(answer{Level: string(config.Level), OmitStages: stages, OmitManagedFields: config.OmitManagedFields})
	}
}
