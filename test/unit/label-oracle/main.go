// Command label-oracle answers, for each JSON line {selector, labels[]} on stdin, what k8s.io/apimachinery's
// labels.Parse and Selector.Matches say: one JSON line {error} or {matches[]} per input line.
package main

import (
	"bufio"
	"encoding/json"
	"os"

	"k8s.io/apimachinery/pkg/labels"
)

type query struct {
	Selector string              `json:"selector"`
	Labels   []map[string]string `json:"labels"`
}

type answer struct {
	Error   *string `json:"error,omitempty"`
	Matches []bool  `json:"matches,omitempty"`
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
		var a answer
		selector, err := labels.Parse(q.Selector)
		if err != nil {
			msg := err.Error()
			a.Error = &msg
		} else {
			a.Matches = make([]bool, len(q.Labels))
			for i, l := range q.Labels {
				a.Matches[i] = selector.Matches(labels.Set(l))
			}
		}
		if err := enc.Encode(a); err != nil {
			panic(err)
		}
	}
	if err := in.Err(); err != nil {
		panic(err)
	}
}
