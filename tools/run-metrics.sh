# Sourced by the demo-sized accuracy checks (tools/prepared-accuracy.sh,
# tools/passed-frames-accuracy.sh): what they read back from a `vifi train` run folder.

# The last validation top-1 in a run's metrics.jsonl.
final_top1() {
  grep '"type":"val"' "$1/metrics.jsonl" | tail -1 | sed -E 's/.*"acc1":([0-9.]+).*/\1/'
}

# The run's checkpoint of its last saved epoch.
last_checkpoint() {
  ls "$1"/ckpt_epoch_*.pth | sort -V | tail -1
}
