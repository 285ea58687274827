using InferenceServer.LoadTest;
using InferenceServer.LoadTest.Reporting;

// Ctrl+C stops the load and still reports what was measured; a second Ctrl+C ends the process at once.
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (!interrupt.IsCancellationRequested)
    {
        e.Cancel = true;
        interrupt.Cancel();
    }
};
return await new LoadTestApp(Console.Out, Console.Error, TimeProvider.System, LiveProgress.TerminalSupportsIt).RunAsync(args, interrupt.Token);
