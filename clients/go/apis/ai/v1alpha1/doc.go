// Package v1alpha1 holds the Go types of ai.example.io/v1alpha1: Notebook, Job and Dataset.
// +k8s:deepcopy-gen=package
// +groupName=ai.example.io
package v1alpha1
