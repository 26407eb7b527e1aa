// A client-go consumer of ai.example.io through kube-apiserver: discovery, the dynamic client for every verb,
// UpdateStatus, RetryOnConflict under contention, and a dynamic informer that must see every change, including
// changes made after this server restarts (the test restarts it when this program prints "restart-now").
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
)

var notebooks = schema.GroupVersionResource{Group: "ai.example.io", Version: "v1alpha1", Resource: "notebooks"}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func notebook(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "ai.example.io/v1alpha1",
		"kind":       "Notebook",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"template":  map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "nb", "image": "jupyter"}}}},
			"workspace": map[string]any{"size": "1Gi"},
		},
	}}
}

// ownedBy reports whether the object has a managedFields entry of that manager, operation and subresource.
func ownedBy(obj *unstructured.Unstructured, manager, operation, subresource string) bool {
	for _, e := range obj.GetManagedFields() {
		if e.Manager == manager && string(e.Operation) == operation && e.Subresource == subresource {
			return true
		}
	}
	return false
}

// serverSideApply drives Apply and ApplyStatus of the dynamic client: create, a no-op re-apply, a conflict
// between two managers, force, and status owned by a controller.
func serverSideApply(ctx context.Context, api dynamic.ResourceInterface) {
	config := notebook("go-apply")
	applied, err := api.Apply(ctx, "go-apply", config, metav1.ApplyOptions{FieldManager: "go-applier"})
	if err != nil {
		fail("apply: %v", err)
	}
	if !ownedBy(applied, "go-applier", "Apply", "") {
		fail("apply: no Apply entry for go-applier in %v", applied.GetManagedFields())
	}
	again, err := api.Apply(ctx, "go-apply", config, metav1.ApplyOptions{FieldManager: "go-applier"})
	if err != nil || again.GetResourceVersion() != applied.GetResourceVersion() {
		fail("re-apply: %v (rv %s, was %s)", err, again.GetResourceVersion(), applied.GetResourceVersion())
	}
	other := notebook("go-apply")
	containers := []any{map[string]any{"name": "nb", "image": "jupyter:2"}}
	if err := unstructured.SetNestedSlice(other.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		fail("set containers: %v", err)
	}
	_, err = api.Apply(ctx, "go-apply", other, metav1.ApplyOptions{FieldManager: "go-other"})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), `conflict with "go-applier"`) {
		fail("a conflicting apply answered %v", err)
	}
	forced, err := api.Apply(ctx, "go-apply", other, metav1.ApplyOptions{FieldManager: "go-other", Force: true})
	if err != nil {
		fail("forced apply: %v", err)
	}
	got, _, _ := unstructured.NestedSlice(forced.Object, "spec", "template", "spec", "containers")
	if len(got) != 1 || got[0].(map[string]any)["image"] != "jupyter:2" {
		fail("after a forced apply the containers are %v", got)
	}
	status := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "ai.example.io/v1alpha1",
		"kind":       "Notebook",
		"metadata":   map[string]any{"name": "go-apply"},
		"status":     map[string]any{"phase": "Running"},
	}}
	withStatus, err := api.ApplyStatus(ctx, "go-apply", status, metav1.ApplyOptions{FieldManager: "go-controller", Force: true})
	if err != nil {
		fail("apply status: %v", err)
	}
	if phase, _, _ := unstructured.NestedString(withStatus.Object, "status", "phase"); phase != "Running" || !ownedBy(withStatus, "go-controller", "Apply", "status") {
		fail("after ApplyStatus phase is %q, managers %v", phase, withStatus.GetManagedFields())
	}
	if err := api.Delete(ctx, "go-apply", metav1.DeleteOptions{}); err != nil {
		fail("delete go-apply: %v", err)
	}
}

type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(kind string, obj any) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		if tomb, isTomb := obj.(cache.DeletedFinalStateUnknown); isTomb {
			u, _ = tomb.Obj.(*unstructured.Unstructured)
		}
	}
	if u == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, kind+" "+u.GetName()+" "+u.GetLabels()["step"])
}

func (r *recorder) waitFor(event string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, e := range r.events {
			if e == event {
				r.mu.Unlock()
				return
			}
		}
		r.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fail("informer never saw %q; saw %v", event, r.events)
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: clientgo KUBECONFIG NAMESPACE")
	}
	config, err := clientcmd.BuildConfigFromFlags("", os.Args[1])
	if err != nil {
		fail("kubeconfig: %v", err)
	}
	ns := os.Args[2]
	ctx := context.Background()

	disco := discovery.NewDiscoveryClientForConfigOrDie(config)
	resources, err := disco.ServerResourcesForGroupVersion("ai.example.io/v1alpha1")
	if err != nil {
		fail("discovery: %v", err)
	}
	found := map[string]bool{}
	for _, r := range resources.APIResources {
		found[r.Name] = true
	}
	for _, want := range []string{"notebooks", "notebooks/status", "jobs", "jobs/scale", "datasets"} {
		if !found[want] {
			fail("discovery lacks %s: %v", want, found)
		}
	}

	client := dynamic.NewForConfigOrDie(config)
	api := client.Resource(notebooks).Namespace(ns)

	rec := &recorder{}
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(client, 0, ns, nil)
	informer := factory.ForResource(notebooks).Informer()
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { rec.add("ADDED", obj) },
		UpdateFunc: func(_, obj any) { rec.add("MODIFIED", obj) },
		DeleteFunc: func(obj any) { rec.add("DELETED", obj) },
	})
	stop := make(chan struct{})
	factory.Start(stop)
	if !cache.WaitForCacheSync(stop, informer.HasSynced) {
		fail("informer did not sync")
	}

	created, err := api.Create(ctx, notebook("go-nb"), metav1.CreateOptions{})
	if err != nil {
		fail("create: %v", err)
	}
	if created.GetGeneration() != 1 || created.GetUID() == "" {
		fail("create returned generation %d uid %q", created.GetGeneration(), created.GetUID())
	}
	got, err := api.Get(ctx, "go-nb", metav1.GetOptions{})
	if err != nil || got.GetResourceVersion() != created.GetResourceVersion() {
		fail("get: %v (rv %s vs %s)", err, got.GetResourceVersion(), created.GetResourceVersion())
	}
	list, err := api.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		fail("list: %v (%d items)", err, len(list.Items))
	}
	got.SetLabels(map[string]string{"step": "1"})
	updated, err := api.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		fail("update: %v", err)
	}
	if err := unstructured.SetNestedField(updated.Object, "Running", "status", "phase"); err != nil {
		fail("set status: %v", err)
	}
	withStatus, err := api.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		fail("update status: %v", err)
	}
	if phase, _, _ := unstructured.NestedString(withStatus.Object, "status", "phase"); phase != "Running" {
		fail("status after UpdateStatus: %q", phase)
	}
	rec.waitFor("MODIFIED go-nb 1", 15*time.Second)

	serverSideApply(ctx, api)

	// Contention: every writer retries on 409 until its increment lands; none may be lost. Eight writers on one
	// object need more attempts than retry.DefaultRetry's five.
	const writers = 8
	contended := wait.Backoff{Steps: 40, Duration: 10 * time.Millisecond, Factor: 1.3, Jitter: 1, Cap: 500 * time.Millisecond}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- retry.RetryOnConflict(contended, func() error {
				current, err := api.Get(ctx, "go-nb", metav1.GetOptions{})
				if err != nil {
					return err
				}
				annotations := current.GetAnnotations()
				if annotations == nil {
					annotations = map[string]string{}
				}
				n, _ := strconv.Atoi(annotations["count"])
				annotations["count"] = strconv.Itoa(n + 1)
				current.SetAnnotations(annotations)
				_, err = api.Update(ctx, current, metav1.UpdateOptions{})
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			fail("retry on conflict: %v", err)
		}
	}
	final, err := api.Get(ctx, "go-nb", metav1.GetOptions{})
	if err != nil || final.GetAnnotations()["count"] != strconv.Itoa(writers) {
		fail("after %d contended increments the count is %q (%v)", writers, final.GetAnnotations()["count"], err)
	}

	fmt.Println("restart-now")
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if line != "restarted\n" {
		fail("expected \"restarted\" on stdin, got %q", line)
	}
	// After the restart the reflector lists and watches again. A relist may fold changes made while it was away
	// into one state (informers are level-based), so first wait until a probe object arrives: from then on the
	// informer is watching, and every change must reach it as its own event.
	deadline := time.Now().Add(90 * time.Second)
	for {
		if _, err := api.Create(ctx, notebook("probe"), metav1.CreateOptions{}); err == nil {
			break
		} else if time.Now().After(deadline) {
			fail("create after restart: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	rec.waitFor("ADDED probe ", 90*time.Second)
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		current, err := api.Get(ctx, "go-nb", metav1.GetOptions{})
		if err != nil {
			return err
		}
		current.SetLabels(map[string]string{"step": "2"})
		_, err = api.Update(ctx, current, metav1.UpdateOptions{})
		return err
	}); err != nil {
		fail("update after restart: %v", err)
	}
	if _, err := api.Create(ctx, notebook("go-after"), metav1.CreateOptions{}); err != nil {
		fail("create after restart: %v", err)
	}
	if err := api.Delete(ctx, "go-nb", metav1.DeleteOptions{}); err != nil {
		fail("delete: %v", err)
	}
	rec.waitFor("MODIFIED go-nb 2", 60*time.Second)
	rec.waitFor("ADDED go-after ", 60*time.Second)
	rec.waitFor("DELETED go-nb 2", 60*time.Second)
	close(stop)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	out, _ := json.Marshal(rec.events)
	fmt.Println(string(out))
}
