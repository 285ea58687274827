using System.Globalization;
using InferenceServer.LoadTest.Load;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace InferenceServer.LoadTest.Reporting;

/// <summary>
/// The live display while a run goes: elapsed time with a bar, the current send rate and throughput, the last
/// interval's p99, errors and late starts. Drawn with Spectre.Console, in place, only on an interactive terminal;
/// otherwise nothing is drawn and the work simply runs.
/// </summary>
internal sealed class LiveProgress(bool enabled)
{
    private readonly Lock _lock = new();

    /// <summary>Whether stdout is a terminal that can redraw in place.</summary>
    public static bool TerminalSupportsIt => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    public async Task<T> RunAsync<T>(string title, Func<Action<ProgressSnapshot>?, Task<T>> work)
    {
        if (!enabled)
        {
            return await work(null).ConfigureAwait(false);
        }
        T result = default!;
        await AnsiConsole.Live(Render(title, null)).AutoClear(true).Overflow(VerticalOverflow.Ellipsis).StartAsync(async context =>
        {
            result = await work(snapshot =>
            {
                lock (_lock)
                {
                    context.UpdateTarget(Render(title, snapshot));
                    context.Refresh();
                }
            }).ConfigureAwait(false);
        }).ConfigureAwait(false);
        return result;
    }

    private static IRenderable Render(string title, ProgressSnapshot? s)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        grid.AddRow(new Markup("[bold]loadtest[/]"), new Markup(Markup.Escape(title)));
        if (s is null)
        {
            grid.AddRow(new Markup("[grey]starting[/]"), new Text(""));
            return grid;
        }
        const int width = 30;
        var done = s.TotalSeconds <= 0 ? 1 : Math.Clamp(s.ElapsedSeconds / s.TotalSeconds, 0, 1);
        var filled = (int)Math.Round(done * width);
        var bar = new string('█', filled) + new string('░', width - filled);
        var phase = s.Warmup ? "[yellow]warm-up[/]" : "[green]measuring[/]";
        grid.AddRow(new Markup(phase), new Markup($"{bar} {F(s.ElapsedSeconds, "0.0")} / {F(s.TotalSeconds, "0.0")} s"));
        var target = s.Mode == LoadMode.Open ? $"target {F(s.TargetLevel, "0")}/s" : $"workers {F(Math.Ceiling(s.TargetLevel - 1e-9), "0")}";
        grid.AddRow(new Markup("rate"), new Markup($"{target}   sent {F(s.SendRate, "0")}/s   ok {F(s.Throughput, "0")}/s   in flight {s.InFlight}"));
        grid.AddRow(new Markup("latency"), new Markup($"p99 (last interval) {Markup.Escape(Units.Ms(s.P99Ms))}"));
        var errors = s.Errors > 0 ? $"[red]{s.Errors}[/]" : "0";
        var late = s.Mode == LoadMode.Open ? $"   late starts {(s.Late > 0 ? $"[yellow]{s.Late}[/]" : "0")}" : "";
        grid.AddRow(new Markup("totals"), new Markup($"ok {s.Successes}   errors {errors}{late}"));
        return grid;
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
