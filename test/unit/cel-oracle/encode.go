package main

import (
	stdjson "encoding/json"
	"os"
)

func stdjsonEncoder() func(any) {
	enc := stdjson.NewEncoder(os.Stdout)
	return func(v any) {
		if err := enc.Encode(v); err != nil {
			panic(err)
		}
	}
}
