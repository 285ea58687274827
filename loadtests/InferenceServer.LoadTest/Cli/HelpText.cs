namespace InferenceServer.LoadTest.Cli;

/// <summary>The text of <c>loadtest --help</c>.</summary>
internal static class HelpText
{
    public static void Write(TextWriter o)
    {
        o.WriteLine("loadtest — load tests for KServe v2 inference servers (REST JSON, REST binary, gRPC), with SLA gates.");
        o.WriteLine();
        o.WriteLine("  loadtest --model income --protocol rest-binary --concurrency 8 --duration 30s");
        o.WriteLine("  loadtest --model income --rate 2000 --arrival poisson --sla \"p99<20ms,errors<0.1%\"");
        o.WriteLine("  loadtest --model income --stages \"10s:100,20s:500\" --report run.html --json run.json");
        o.WriteLine("  loadtest --model income --find-max-rate --sla \"p99<10ms\"");
        o.WriteLine("  loadtest --scenario-file scenarios.yaml [--scenario NAME]");
        o.WriteLine("  loadtest --ceiling [--protocol grpc]");
        o.WriteLine();
        var width = Flags.All.Max(f => f.Name.Length + (f.Value?.Length + 1 ?? 0)) + 4;
        foreach (var flag in Flags.All)
        {
            var left = "--" + flag.Name + (flag.Value is null ? "" : " " + flag.Value);
            o.WriteLine("  " + left.PadRight(width) + flag.Help);
        }
        o.WriteLine();
        o.WriteLine("Latency counts from each request's intended start (open loop: its scheduled time), to the end of the response.");
        o.WriteLine("Exit codes: 0 every SLA assertion held; 1 one failed, or no request succeeded, or no rate met the SLA;");
        o.WriteLine("2 bad usage; 3 server unreachable or model not ready before the load; 130 interrupted.");
    }
}
