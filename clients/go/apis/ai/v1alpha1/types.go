package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DatasetMount is a Dataset of the same namespace mounted into every pod of the workload once it is Ready.
type DatasetMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  *bool  `json:"readOnly,omitempty"`
}

// Workspace is the persistent home of a notebook: a new claim of the given size, or an existing claim.
type Workspace struct {
	Size             *resource.Quantity `json:"size,omitempty"`
	StorageClassName string             `json:"storageClassName,omitempty"`
	ExistingClaim    string             `json:"existingClaim,omitempty"`
	MountPath        string             `json:"mountPath,omitempty"`
}

// IdlePolicy says when an idle notebook is stopped (its workspace is kept).
type IdlePolicy struct {
	TimeoutSeconds int64 `json:"timeoutSeconds"`
}

// NotebookSpec is the desired state of a Notebook.
type NotebookSpec struct {
	Template  corev1.PodTemplateSpec `json:"template"`
	Workspace *Workspace             `json:"workspace,omitempty"`
	// +listType=map
	// +listMapKey=name
	Datasets []DatasetMount `json:"datasets,omitempty"`
	Stopped  *bool          `json:"stopped,omitempty"`
	Idle     *IdlePolicy    `json:"idle,omitempty"`
}

// NotebookStatus is the observed state of a Notebook.
type NotebookStatus struct {
	Phase string `json:"phase,omitempty"`
	// +listType=map
	// +listMapKey=type
	Conditions         []metav1.Condition `json:"conditions,omitempty"`
	ObservedGeneration int64              `json:"observedGeneration,omitempty"`
	ReadyReplicas      int32              `json:"readyReplicas,omitempty"`
	LastActivityTime   *metav1.Time       `json:"lastActivityTime,omitempty"`
	URL                string             `json:"url,omitempty"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Notebook is an interactive Jupyter-style workspace.
type Notebook struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              NotebookSpec   `json:"spec"`
	Status            NotebookStatus `json:"status,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// NotebookList is a list of Notebooks.
type NotebookList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Notebook `json:"items"`
}

// ElasticPolicy lets a job run between MinReplicas and MaxReplicas workers.
type ElasticPolicy struct {
	MinReplicas int32 `json:"minReplicas"`
	MaxReplicas int32 `json:"maxReplicas"`
}

// RunPolicy says how failures, deadlines and finished jobs are handled.
type RunPolicy struct {
	BackoffLimit            *int32 `json:"backoffLimit,omitempty"`
	ActiveDeadlineSeconds   *int64 `json:"activeDeadlineSeconds,omitempty"`
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`
}

// JobSpec is the desired state of a distributed training Job.
type JobSpec struct {
	Replicas     *int32                 `json:"replicas,omitempty"`
	Elastic      *ElasticPolicy         `json:"elastic,omitempty"`
	Template     corev1.PodTemplateSpec `json:"template"`
	Framework    string                 `json:"framework,omitempty"`
	NprocPerNode *int32                 `json:"nprocPerNode,omitempty"`
	Suspend      *bool                  `json:"suspend,omitempty"`
	// +listType=map
	// +listMapKey=name
	Datasets  []DatasetMount `json:"datasets,omitempty"`
	RunPolicy *RunPolicy     `json:"runPolicy,omitempty"`
}

// JobStatus is the observed state of a Job.
type JobStatus struct {
	Phase string `json:"phase,omitempty"`
	// +listType=map
	// +listMapKey=type
	Conditions         []metav1.Condition `json:"conditions,omitempty"`
	ObservedGeneration int64              `json:"observedGeneration,omitempty"`
	Active             int32              `json:"active,omitempty"`
	Succeeded          int32              `json:"succeeded,omitempty"`
	Failed             int32              `json:"failed,omitempty"`
	Replicas           int32              `json:"replicas,omitempty"`
	Selector           string             `json:"selector,omitempty"`
	StartTime          *metav1.Time       `json:"startTime,omitempty"`
	CompletionTime     *metav1.Time       `json:"completionTime,omitempty"`
}

// +genclient
// +genclient:method=GetScale,verb=get,subresource=scale,result=k8s.io/api/autoscaling/v1.Scale
// +genclient:method=UpdateScale,verb=update,subresource=scale,input=k8s.io/api/autoscaling/v1.Scale,result=k8s.io/api/autoscaling/v1.Scale
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Job is a distributed, optionally elastic, training job.
type Job struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              JobSpec   `json:"spec"`
	Status            JobStatus `json:"status,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// JobList is a list of Jobs.
type JobList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Job `json:"items"`
}

// DatasetSource says where the data comes from: s3://, http(s):// or pvc://.
type DatasetSource struct {
	URI string `json:"uri"`
}

// DatasetSpec is the desired state of a Dataset.
type DatasetSpec struct {
	Source           DatasetSource      `json:"source"`
	Size             *resource.Quantity `json:"size,omitempty"`
	StorageClassName string             `json:"storageClassName,omitempty"`
	Prefetch         *bool              `json:"prefetch,omitempty"`
}

// DatasetStatus is the observed state of a Dataset.
type DatasetStatus struct {
	Phase string `json:"phase,omitempty"`
	// +listType=map
	// +listMapKey=type
	Conditions         []metav1.Condition `json:"conditions,omitempty"`
	ObservedGeneration int64              `json:"observedGeneration,omitempty"`
	Bytes              int64              `json:"bytes,omitempty"`
	Files              int64              `json:"files,omitempty"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Dataset is data prefetched into a claim for notebooks and jobs.
type Dataset struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              DatasetSpec   `json:"spec"`
	Status            DatasetStatus `json:"status,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// DatasetList is a list of Datasets.
type DatasetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Dataset `json:"items"`
}
