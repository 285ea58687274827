namespace InferenceServer.LoadTest.Cli;

/// <summary>Every flag <c>loadtest</c> knows, in the order the help lists them.</summary>
internal static class Flags
{
    public static readonly Flag[] All =
    [
        new("url", "URL", "Server address (default http://127.0.0.1:8000; with --protocol grpc, http://127.0.0.1:8001)."),
        new("model", "NAME", "Model to load-test."),
        new("version", "V", "Model version (default: the server's choice)."),
        new("protocol", "P", "rest-json | rest-binary | grpc (default rest-json)."),
        new("concurrency", "N", "Closed loop: N workers, each sending when its previous request is answered (default 1)."),
        new("rate", "R", "Open loop: R requests per second on a schedule, answered or not."),
        new("arrival", "A", "Open loop spacing: constant | poisson (default constant)."),
        new("stages", "LIST", "Ramp, e.g. \"10s:100,20s:500\": linear from the previous target (0 at first) over each duration. Rates (open loop) unless --loop closed."),
        new("loop", "L", "open | closed: what --stages targets are (default open: rates)."),
        new("duration", "D", "Measured length, e.g. 30s, 2m (default 10s; 5s per trial with --find-max-rate)."),
        new("warmup", "D", "Load before measuring, left out of the results (default 2s; 0 with --stages; 1s per trial)."),
        new("input", "FILE", "JSONL of v2 JSON inference requests, one per line, sent round robin."),
        new("batch-size", "N", "Generated inputs: the value of every -1 dimension (default 1)."),
        new("distinct-inputs", "N", "Generated inputs: how many different random requests (default 16)."),
        new("seed", "N", "Seed of the generated inputs and the Poisson schedule (default 1)."),
        new("timeout", "D", "A request unanswered after this is a timeout error (default 10s)."),
        new("connections", "N", "HTTP/1.1 connections (REST; default: concurrency, or 256 open loop) or HTTP/2 pools (gRPC)."),
        new("max-in-flight", "N", "Open loop: requests outstanding at most; beyond, the schedule waits and lateness shows it (default 10000)."),
        new("late-threshold", "D", "Open loop: a request starting this much after its intended time is late (default 1ms)."),
        new("spin-window", "D", "Open loop: spin on the clock this long before each send instead of trusting the timer, which fires up to a few ms late on a busy machine (default 2ms; 0 saves CPU)."),
        new("sample-interval", "D", "Length of one point of the time series (default 1s)."),
        new("sla", "LIST", "Assertions, e.g. \"p99<20ms,errors<0.1%,throughput>=2000\"; exit 1 when one fails."),
        new("find-max-rate", null, "Capacity search: bisect short open-loop runs for the highest rate meeting --sla."),
        new("start-rate", "R", "Capacity search: first rate tried (default --rate or 100)."),
        new("max-rate", "R", "Capacity search: never try above this (default 1000000)."),
        new("precision", "P", "Capacity search: stop when the bracket is within P of its top, e.g. 5% (default 5%)."),
        new("max-trials", "N", "Capacity search: at most N trial runs (default 15)."),
        new("scenario-file", "FILE", "YAML or JSON file of named scenarios (keys are these flags' names).", PerRun: false),
        new("scenario", "NAME", "Run only this scenario of --scenario-file (default: all, in order).", PerRun: false),
        new("json", "FILE", "Write the results as JSON.", PerRun: false),
        new("report", "FILE", "Write a self-contained HTML report with charts.", PerRun: false),
        new("ceiling", null, "First measure the generator's own ceiling against a trivial endpoint; warn when a run comes near it.", PerRun: false),
        new("ceiling-url", "URL", "The trivial endpoint to measure against (default: one hosted in-process).", PerRun: false),
        new("ceiling-duration", "D", "Length of the ceiling measurement (default 5s).", PerRun: false),
        new("ceiling-warn", "P", "Warn when a run reaches this share of the ceiling (default 80%).", PerRun: false),
        new("serve-trivial", "PORT", "Only host the trivial endpoint (HTTP/1.1 on PORT, HTTP/2 on PORT+1) until Ctrl+C.", PerRun: false),
        new("no-progress", null, "No live display (it is off anyway when stdout is not a terminal).", PerRun: false),
        new("help", null, "Show this help.", PerRun: false),
    ];

    public static Flag? Find(string name) => Array.Find(All, f => f.Name == name);
}
