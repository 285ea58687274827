using System.Runtime.CompilerServices;

namespace InferenceServer.FunctionalTests;

/// <summary>
/// Gives the test host's thread pool room for the child processes these tests start. On Linux, .NET reads a child's
/// redirected standard output and error (<c>BeginOutputReadLine</c>, <c>ReadToEndAsync</c>) with blocking reads on
/// pool threads, one per stream for the child's whole life: a Redis and a sidecar hold four. With the pool's floor at
/// the core count (two on CI) every other continuation then waits for the pool to notice the starvation and add a
/// thread, about half a second at a time: a Redis restart (two readers end, two new ones block) made an answer the
/// sidecar had sent in under a millisecond reach the test 0.5-0.9 s later here, and 3.5 s on a loaded CI machine,
/// failing a deadline assertion about the sidecar. A floor well above the number of streams ever open at once keeps
/// those waits out of the tests' timings.
/// </summary>
internal static class TestHostThreads
{
    private const int Floor = 64;

    [ModuleInitializer]
    internal static void RaiseThePoolFloor()
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, Floor), Math.Max(completionPorts, Floor));
    }
}
