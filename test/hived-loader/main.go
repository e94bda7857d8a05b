// Command hived-loader runs the part of HiveD v0.3.4's startup that reads its config, on a
// config file, and says whether HiveD would come up with it.
//
// It is built inside a GOPATH copy of github.com/microsoft/hivedscheduler at v0.3.4
// (test/hived-loader/build.sh), so everything it calls is the upstream code with its vendored
// dependencies. The real binary's startup (cmd/hivedscheduler/main.go, then
// pkg/scheduler/scheduler.go NewHivedScheduler) does, in order:
//
//	common.InitAll()                          here too (klog setup)
//	si.NewConfig(si.InitRawConfig(&path))     here: YAML decoding, defaults, physical cell inference
//	si.WatchConfig, BuildKubeConfig, clients  skipped: they need a cluster, not the config
//	algorithm.NewHivedAlgorithm(sConfig)      here: cell trees, VC assignment check, pinned cells
//
// It prints one line: "ok", "refused: <HiveD's panic>", "crashed: <Go runtime's fatal error>"
// (a stack overflow cannot be recovered) or "hung" (no answer within -timeout). With -summary an
// "ok" is followed by one JSON line of HiveD's own view of each VC: leaf cells per leaf cell
// type, and the most leaf cells one pod can get (a pod stays inside one virtual cell and one node).
// Exit status 0 for ok, 1 otherwise, 2 for a wrong command line.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/microsoft/hivedscheduler/pkg/algorithm"
	si "github.com/microsoft/hivedscheduler/pkg/api"
	"github.com/microsoft/hivedscheduler/pkg/common"
	"k8s.io/klog"
)

// The check runs in a child process (this binary again, with this variable set), so that
// fatal runtime errors and endless loops in HiveD end the child, not the verdict.
const childEnv = "OPENPAI_HIVED_LOADER_CHILD"

// Lines of the child that carry its answer start with this, apart from klog's output.
const answerPrefix = "openpai-hived-loader: "

var (
	timeout = flag.Duration("timeout", 10*time.Second, "how long HiveD may take before the verdict is \"hung\"")
	summary = flag.Bool("summary", false, "after \"ok\", print HiveD's view of each VC as one JSON line")
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [-timeout 10s] [-summary] <hived-config.yaml>\n", os.Args[0])
		os.Exit(2)
	}
	// The scheduler's own logger setup; it parses the command line (our flags live there too).
	common.InitAll()
	if flag.NArg() != 1 {
		flag.Usage()
	}
	if os.Getenv(childEnv) == "1" {
		child(flag.Arg(0))
		return
	}
	os.Exit(parent(flag.Arg(0)))
}

// child loads the config as HiveD does and prints the answer lines.
func child(path string) {
	var view string
	verdict := func() (verdict string) {
		defer func() {
			if r := recover(); r != nil {
				verdict = "refused: " + oneLine(fmt.Sprint(r))
			}
		}()
		h := algorithm.NewHivedAlgorithm(si.NewConfig(si.InitRawConfig(&path)))
		if *summary {
			view = summarize(h.GetAllVirtualClustersStatus())
		}
		return "ok"
	}()
	klog.Flush()
	fmt.Println(answerPrefix + verdict)
	if view != "" {
		fmt.Println(answerPrefix + view)
	}
}

// parent runs the child with a time limit and prints its answer, or what killed it.
func parent(path string) int {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	args := []string{path}
	if *summary {
		args = []string{"-summary", path}
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var answer []string
	lines := bufio.NewScanner(&stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<26)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), answerPrefix) {
			answer = append(answer, strings.TrimPrefix(lines.Text(), answerPrefix))
		}
	}
	switch {
	case len(answer) > 0:
	case ctx.Err() == context.DeadlineExceeded:
		answer = []string{"hung"}
	default:
		answer = []string{"crashed: " + fatalLine(stderr.String(), runErr)}
	}
	fmt.Println(strings.Join(answer, "\n"))
	if answer[0] == "ok" {
		return 0
	}
	return 1
}

// fatalLine is the Go runtime's own first line about the crash ("fatal error: stack overflow").
func fatalLine(stderr string, runErr error) string {
	for _, prefix := range []string{"fatal error:", "panic:", "runtime:"} {
		for _, line := range strings.Split(stderr, "\n") {
			if strings.HasPrefix(line, prefix) {
				return strings.TrimSpace(line)
			}
		}
	}
	if runErr != nil {
		return oneLine(runErr.Error())
	}
	return "the check ended without an answer"
}

func oneLine(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

// vcView is what -summary prints per VC.
type vcView struct {
	// Leaf cells of the VC's virtual (and pinned) cells, per leaf cell type.
	LeafCells map[string]int `json:"leafCells"`
	// The most leaf cells one pod of the VC can get, per leaf cell type.
	LargestPod map[string]int `json:"largestPod"`
}

// summarize walks HiveD's virtual cell trees: a pod is placed inside one of the VC's
// preassigned cells, and inside one node (pkg/algorithm/topology_aware_scheduler.go: a cell
// lower than a node is a node of its own in the VC's view).
func summarize(vcs map[si.VirtualClusterName]si.VirtualClusterStatus) string {
	out := map[string]vcView{}
	for vc, cells := range vcs {
		view := vcView{LeafCells: map[string]int{}, LargestPod: map[string]int{}}
		for _, top := range cells {
			leafType := top.LeafCellType
			view.LeafCells[leafType] += leaves(top)
			if pod := largestPod(top); pod > view.LargestPod[leafType] {
				view.LargestPod[leafType] = pod
			}
		}
		out[string(vc)] = view
	}
	text, _ := json.Marshal(out)
	return string(text)
}

func leaves(c *si.VirtualCellStatus) int {
	if len(c.CellChildren) == 0 {
		return 1
	}
	n := 0
	for _, child := range c.CellChildren {
		n += leaves(child)
	}
	return n
}

// largestPod: a node-level cell, or a cell with no node-level cell inside, holds one pod of all
// its leaves; a cell above the node level holds pods no bigger than its largest node.
func largestPod(c *si.VirtualCellStatus) int {
	if c.IsNodeLevel || !hasNode(c) {
		return leaves(c)
	}
	most := 0
	for _, child := range c.CellChildren {
		if n := largestPod(child); n > most {
			most = n
		}
	}
	return most
}

func hasNode(c *si.VirtualCellStatus) bool {
	if c.IsNodeLevel {
		return true
	}
	for _, child := range c.CellChildren {
		if hasNode(child) {
			return true
		}
	}
	return false
}
