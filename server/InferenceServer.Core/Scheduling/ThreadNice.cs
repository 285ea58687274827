using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// Lets a model's runs go before the work of answering requests when both want the same core (issue 12: at 3× capacity
/// the refusals and the runs share the core at one priority, and the kernel splits it between them). An unprivileged
/// Linux thread may raise its nice value (lower its priority) but never lower it again, so the request-serving threads
/// are lowered, once each, and the threads that run models are kept at the priority the process started with.
/// </summary>
/// <remarks>
/// A thread starts at the nice value of the thread that created it. Models are loaded on thread-pool threads, which may
/// already have been lowered, so once <see cref="KeepStartPriority"/> has run, model threads are created by one thread
/// that is never lowered. Elsewhere than Linux nothing here does anything.
/// </remarks>
public static partial class ThreadNice
{
    // <sys/resource.h>: on Linux, PRIO_PROCESS with a thread id names that one thread.
    private const int PriorityProcess = 0;
    private const int Lowest = 19;

    [ThreadStatic]
    private static bool t_lowered;

    private static BlockingCollection<(Thread Thread, object? State)>? s_pending;
    private static int? s_startNice;

    /// <summary>
    /// Called once, at start, on a thread at the process's start priority: from then on model threads are created by a
    /// thread of that priority (<see cref="StartAtStartPriority"/>), whatever thread asks for them.
    /// </summary>
    public static void KeepStartPriority()
    {
        if (!OperatingSystem.IsLinux() || s_pending is not null)
        {
            return;
        }
        s_startNice = Current();
        var pending = new BlockingCollection<(Thread Thread, object? State)>();
        var starter = new Thread(static state =>
        {
            foreach (var (thread, threadState) in ((BlockingCollection<(Thread, object?)>)state!).GetConsumingEnumerable())
            {
                thread.UnsafeStart(threadState);
            }
        })
        {
            IsBackground = true,
            Name = "model threads",
        };
        starter.UnsafeStart(pending);
        s_pending = pending;
    }

    /// <summary>Starts a thread that runs a model, at the process's start priority once <see cref="KeepStartPriority"/> has run.</summary>
    public static void StartAtStartPriority(Thread thread, object? state)
    {
        if (s_pending is { } pending)
        {
            pending.Add((thread, state));
        }
        else
        {
            thread.UnsafeStart(state);
        }
    }

    /// <summary>
    /// Called first on a thread that runs a model: <see cref="LowerOnce"/> leaves it alone from then on. A model thread
    /// completes its requests, and an answer's continuation can go on, on that thread, to read and start the
    /// connection's next request, and with it the request pipeline's <see cref="LowerOnce"/>.
    /// </summary>
    public static void KeepThisThread() => t_lowered = true;

    /// <summary>
    /// Puts the calling thread <paramref name="by"/> nice steps below the start priority (at most 19), the first time it
    /// is called on that thread; later calls cost a thread-static read. The steps count from the start priority, not
    /// from the thread's own: a thread-pool thread is often created by one already lowered, and starts where that one is.
    /// </summary>
    public static void LowerOnce(int by)
    {
        if (t_lowered)
        {
            return;
        }
        t_lowered = true;
        if (by > 0 && OperatingSystem.IsLinux())
        {
            Lower(by);
        }
    }

    /// <summary>The calling thread's nice value; null where it cannot be read.</summary>
    public static int? Current()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        var nice = GetPriority(PriorityProcess, GetThreadId());
        // -1 is also a nice value: only errno tells it from a failure.
        return nice == -1 && Marshal.GetLastPInvokeError() != 0 ? null : nice;
    }

    private static void Lower(int by)
    {
        if (Current() is not { } nice)
        {
            return;
        }
        var target = Math.Min(Lowest, (s_startNice ?? nice) + by);
        if (nice < target)
        {
            // A failure leaves the thread where it was: a thread at its start priority still serves, only without the lead.
            _ = SetPriority(PriorityProcess, GetThreadId(), target);
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "gettid")]
    private static partial int GetThreadId();

    [LibraryImport("libc.so.6", EntryPoint = "getpriority", SetLastError = true)]
    private static partial int GetPriority(int which, int who);

    [LibraryImport("libc.so.6", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int priority);
}
