// A program written against the generated Go client of ai.example.io (clients/go), as a user would write one:
// the typed clientset for CRUD, UpdateStatus, the scale subresource and server-side Apply, and a shared informer
// factory whose lister must see every object. It prints the server's message for a refused create so the test
// can compare it with the server's own Status.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	aiv1alpha1 "example.io/ai-apiserver/clients/go/apis/ai/v1alpha1"
	applyv1alpha1 "example.io/ai-apiserver/clients/go/generated/applyconfiguration/ai/v1alpha1"
	"example.io/ai-apiserver/clients/go/generated/clientset/versioned"
	"example.io/ai-apiserver/clients/go/generated/informers/externalversions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func notebook(name string) *aiv1alpha1.Notebook {
	return &aiv1alpha1.Notebook{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "go-client"}},
		Spec: aiv1alpha1.NotebookSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "main", Image: "jupyter/base-notebook"}},
		}}},
	}
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: goclient KUBECONFIG NAMESPACE")
	}
	config, err := clientcmd.BuildConfigFromFlags("", os.Args[1])
	if err != nil {
		fail("kubeconfig: %v", err)
	}
	ns := os.Args[2]
	ctx := context.Background()
	client := versioned.NewForConfigOrDie(config)
	notebooks := client.AiV1alpha1().Notebooks(ns)

	factory := externalversions.NewSharedInformerFactoryWithOptions(client, 0, externalversions.WithNamespace(ns))
	lister := factory.Ai().V1alpha1().Notebooks().Lister()
	stop := make(chan struct{})
	factory.Start(stop)
	for typ, ok := range factory.WaitForCacheSync(stop) {
		if !ok {
			fail("informer for %v did not sync", typ)
		}
	}

	created, err := notebooks.Create(ctx, notebook("go-nb"), metav1.CreateOptions{})
	if err != nil || created.Generation != 1 {
		fail("create: %v (generation %d)", err, created.Generation)
	}
	got, err := notebooks.Get(ctx, "go-nb", metav1.GetOptions{})
	if err != nil || got.UID != created.UID {
		fail("get: %v", err)
	}
	got.Labels["step"] = "1"
	updated, err := notebooks.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil || updated.Labels["step"] != "1" {
		fail("update: %v", err)
	}
	updated.Status.Phase = "Running"
	withStatus, err := notebooks.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err != nil || withStatus.Status.Phase != "Running" {
		fail("update status: %v (%q)", err, withStatus.Status.Phase)
	}

	apply := applyv1alpha1.Notebook("go-nb", ns).WithSpec(applyv1alpha1.NotebookSpec().
		WithStopped(true).
		WithIdle(applyv1alpha1.IdlePolicy().WithTimeoutSeconds(600)))
	applied, err := notebooks.Apply(ctx, apply, metav1.ApplyOptions{FieldManager: "go-client", Force: true})
	if err != nil || applied.Spec.Stopped == nil || !*applied.Spec.Stopped || applied.Spec.Idle.TimeoutSeconds != 600 {
		fail("apply: %v", err)
	}
	owned := false
	for _, entry := range applied.ManagedFields {
		owned = owned || (entry.Manager == "go-client" && entry.Operation == metav1.ManagedFieldsOperationApply)
	}
	if !owned {
		fail("apply: no Apply entry for go-client in %v", applied.ManagedFields)
	}
	status := applyv1alpha1.Notebook("go-nb", ns).WithStatus(applyv1alpha1.NotebookStatus().WithReadyReplicas(1))
	if applied, err = notebooks.ApplyStatus(ctx, status, metav1.ApplyOptions{FieldManager: "go-controller", Force: true}); err != nil || applied.Status.ReadyReplicas != 1 {
		fail("apply status: %v", err)
	}

	jobs := client.AiV1alpha1().Jobs(ns)
	job := &aiv1alpha1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "go-job"},
		Spec: aiv1alpha1.JobSpec{Replicas: ptr.To[int32](2), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "trainer", Image: "pytorch/pytorch"}},
		}}},
	}
	if _, err := jobs.Create(ctx, job, metav1.CreateOptions{}); err != nil {
		fail("create job: %v", err)
	}
	scale, err := jobs.GetScale(ctx, "go-job", metav1.GetOptions{})
	if err != nil || scale.Spec.Replicas != 2 {
		fail("get scale: %v", err)
	}
	scale.Spec.Replicas = 3
	if scale, err = jobs.UpdateScale(ctx, "go-job", scale, metav1.UpdateOptions{}); err != nil || scale.Spec.Replicas != 3 {
		fail("update scale: %v", err)
	}

	for i := 0; i < 20; i++ {
		if _, err := notebooks.Create(ctx, notebook(fmt.Sprintf("go-many-%02d", i)), metav1.CreateOptions{}); err != nil {
			fail("create many: %v", err)
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		all, err := lister.List(labels.SelectorFromSet(labels.Set{"app": "go-client"}))
		return err == nil && len(all) == 21, err
	}); err != nil {
		all, _ := lister.List(labels.Everything())
		fail("the lister holds %d notebooks, not 21: %v", len(all), err)
	}
	if cached, err := lister.Notebooks(ns).Get("go-nb"); err != nil || cached.Status.ReadyReplicas != 1 {
		fail("lister get: %v", err)
	}

	bad := notebook("go-bad")
	bad.Spec.Idle = &aiv1alpha1.IdlePolicy{TimeoutSeconds: 5}
	_, err = notebooks.Create(ctx, bad, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if !apierrors.IsInvalid(err) {
		fail("an invalid notebook was not refused as Invalid: %v", err)
	}
	fmt.Printf("refused: %s\n", err.Error())

	if err := notebooks.Delete(ctx, "go-nb", metav1.DeleteOptions{}); err != nil {
		fail("delete: %v", err)
	}
	if _, err := notebooks.Get(ctx, "go-nb", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		fail("get after delete: %v", err)
	}
	close(stop)
	fmt.Println("ok")
}
