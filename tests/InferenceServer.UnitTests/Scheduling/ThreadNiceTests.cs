using System.Globalization;
using InferenceServer.Core.Scheduling;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>
/// The request threads' lower priority (issue 12, defect 4), read back from the kernel: a thread lowers itself once and
/// only once, and a thread started for a model from a lowered thread still runs at the priority the process started
/// with. Each case runs on threads of its own, so the test runner's threads keep theirs.
/// </summary>
public sealed class ThreadNiceTests
{
    [Fact]
    public void AThreadLowersItselfOnceByTheStepsAskedFor()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        int before = 0, afterFirst = 0, afterSecond = 0;
        OnThread(() =>
        {
            before = NiceFromProc();
            ThreadNice.LowerOnce(3);
            afterFirst = NiceFromProc();
            ThreadNice.LowerOnce(3);
            afterSecond = NiceFromProc();
        });

        Assert.Equal(Math.Min(19, before + 3), afterFirst);
        Assert.Equal(afterFirst, afterSecond);
    }

    [Fact]
    public void AThreadStartedByALoweredThreadIsNotLoweredFurther()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        ThreadNice.KeepStartPriority();
        int start = 0, parent = 0, child = 0;
        OnThread(() =>
        {
            start = NiceFromProc();
            ThreadNice.LowerOnce(4);
            parent = NiceFromProc();
            // As the thread pool does: a lowered worker starts the next one, which starts at its creator's nice.
            OnThread(() =>
            {
                ThreadNice.LowerOnce(4);
                child = NiceFromProc();
            });
        });

        Assert.Equal(Math.Min(19, start + 4), parent);
        Assert.Equal(parent, child);
    }

    [Fact]
    public void AModelThreadStartedFromALoweredThreadKeepsTheStartPriority()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        ThreadNice.KeepStartPriority();
        var start = 0;
        var lowered = 0;
        var model = 0;
        OnThread(() =>
        {
            start = NiceFromProc();
            ThreadNice.LowerOnce(5);
            lowered = NiceFromProc();
            var done = new ManualResetEventSlim();
            ThreadNice.StartAtStartPriority(new Thread(_ =>
            {
                model = NiceFromProc();
                done.Set();
            }), null);
            Assert.True(done.Wait(TimeSpan.FromSeconds(30)), "the model thread did not run");
        });

        Assert.True(lowered > start || start == 19, $"the asking thread was not lowered: nice {lowered}, started at {start}");
        Assert.Equal(start, model);
    }

    [Fact]
    public void AModelThreadThatRunsTheRequestPipelineIsNotLowered()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        int before = 0, after = 0;
        OnThread(() =>
        {
            before = NiceFromProc();
            ThreadNice.KeepThisThread();
            ThreadNice.LowerOnce(5);
            after = NiceFromProc();
        });

        Assert.Equal(before, after);
    }

    private static void OnThread(Action body)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                body();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw failure;
        }
    }

    // The kernel's own record (field 19 of /proc/thread-self/stat), not the call that set it.
    private static int NiceFromProc()
    {
        var stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[16], CultureInfo.InvariantCulture);
    }
}
