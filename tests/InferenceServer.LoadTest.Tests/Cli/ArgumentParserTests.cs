using InferenceServer.LoadTest.Cli;
using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.ModelMix;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Tests.Cli;

public sealed class ArgumentParserTests
{
    private static RunOptions Single(params string[] args) => Assert.Single(ArgumentParser.Parse(args).Runs);

    [Fact]
    public void Defaults_are_one_closed_loop_worker_over_rest_json_for_ten_seconds_after_two_of_warmup()
    {
        var run = Single("--model", "income");
        Assert.Equal(new Uri("http://127.0.0.1:8000"), run.Url);
        Assert.Equal(Protocol.RestJson, run.Protocol);
        Assert.Equal(LoadMode.Closed, run.Mode);
        Assert.Equal(1, run.Profile.MaxLevel);
        Assert.Equal(TimeSpan.FromSeconds(10), run.Profile.Duration);
        Assert.Equal(TimeSpan.FromSeconds(2), run.Warmup);
        Assert.Equal(1, run.BatchSize);
        Assert.Empty(run.Sla);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 2)]
    [InlineData(64, 2)]
    public void The_open_loop_spins_2_ms_before_a_send_unless_the_generator_has_one_core(int processors, int milliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), RunOptions.DefaultSpinWindow(processors));
        Assert.Equal(RunOptions.DefaultSpinWindow(Environment.ProcessorCount), Single("--model", "income", "--rate", "100").SpinWindow);
        Assert.Equal(TimeSpan.FromMilliseconds(5), Single("--model", "income", "--rate", "100", "--spin-window", "5ms").SpinWindow);
    }

    [Fact]
    public void The_brief_s_example_parses()
    {
        var run = Single("--url", "http://127.0.0.1:8000", "--model", "income", "--protocol", "rest-binary", "--concurrency", "8", "--duration", "10s");
        Assert.Equal(Protocol.RestBinary, run.Protocol);
        Assert.Equal(8, run.Profile.MaxLevel);
        Assert.Equal(8, run.EffectiveConnections);
    }

    [Fact]
    public void Many_models_take_a_range_and_a_zipf_distribution_and_the_plan_picks_among_them()
    {
        var run = Single("--models", "variant_{0..199}", "--model-distribution", "zipf:1.1", "--rate", "100", "--input", "r.jsonl", "--seed", "9");
        Assert.Equal(200, run.Models!.Count);
        Assert.Equal("variant_0", run.Model);
        Assert.Equal("200 models (zipf:1.1)", run.ModelText);
        var picker = run.ToPlan().Models!;
        Assert.Equal(200, picker.Count);
        Assert.Equal("zipf:1.1", picker.Distribution.ToString());
        Assert.Equal(new ModelPicker(200, run.ModelDistribution, 9).Pick(42), picker.Pick(42));

        var one = Single("--models", "only");
        Assert.Null(one.Models);
        Assert.Equal("only", one.Model);
        Assert.Null(one.ToPlan().Models);
    }

    [Fact]
    public void A_rate_is_open_loop_and_grpc_defaults_to_port_8001()
    {
        var run = Single("--model=income", "--protocol=grpc", "--rate=500", "--arrival=poisson", "--sla", "p99<20ms");
        Assert.Equal(new Uri("http://127.0.0.1:8001"), run.Url);
        Assert.Equal(LoadMode.Open, run.Mode);
        Assert.Equal(ArrivalProcess.Poisson, run.Arrival);
        Assert.Equal(5000, run.Profile.TotalArea, 6);
        Assert.Single(run.Sla);
    }

    [Fact]
    public void Stages_ramp_rates_by_default_and_workers_with_loop_closed()
    {
        var open = Single("--model", "m", "--stages", "10s:100,20s:500");
        Assert.Equal(LoadMode.Open, open.Mode);
        Assert.Equal(TimeSpan.FromSeconds(30), open.Profile.Duration);
        Assert.Equal(TimeSpan.Zero, open.Warmup);
        Assert.Equal(100, open.WarmupLevel);

        var closed = Single("--model", "m", "--stages", "5s:4,5s:16", "--loop", "closed");
        Assert.Equal(LoadMode.Closed, closed.Mode);
        Assert.Equal(16, closed.Profile.MaxLevel);
    }

    [Fact]
    public void Find_max_rate_runs_short_open_loop_trials()
    {
        var run = Single("--model", "m", "--find-max-rate", "--sla", "p99<10ms", "--start-rate", "50", "--precision", "10%");
        Assert.True(run.FindMaxRate);
        Assert.Equal(LoadMode.Open, run.Mode);
        Assert.Equal(50, run.StartRate);
        Assert.Equal(0.1, run.Precision, 9);
        Assert.Equal(TimeSpan.FromSeconds(5), run.Profile.Duration);
        Assert.Equal(TimeSpan.FromSeconds(1), run.Warmup);
    }

    [Theory]
    [InlineData("unknown flag '--colour'", "--model", "m", "--colour", "red")]
    [InlineData("--model is required")]
    [InlineData("exclude each other", "--model", "m", "--concurrency", "2", "--rate", "10")]
    [InlineData("--stages sets the load itself", "--model", "m", "--stages", "1s:10", "--rate", "10")]
    [InlineData("--stages sets the length itself", "--model", "m", "--stages", "1s:10", "--duration", "5s")]
    [InlineData("--loop says what --stages targets are", "--model", "m", "--loop", "closed")]
    [InlineData("--arrival applies to open loop", "--model", "m", "--arrival", "poisson")]
    [InlineData("--find-max-rate needs --sla", "--model", "m", "--find-max-rate")]
    [InlineData("searches open-loop rates", "--model", "m", "--find-max-rate", "--sla", "p99<1ms", "--concurrency", "4")]
    [InlineData("belongs to --find-max-rate", "--model", "m", "--max-rate", "100")]
    [InlineData("--concurrency: '0' is not a whole number", "--model", "m", "--concurrency", "0")]
    [InlineData("--rate: 'fast' is not a positive number", "--model", "m", "--rate", "fast")]
    [InlineData("--protocol: 'soap'", "--model", "m", "--protocol", "soap")]
    [InlineData("not an http:// or https:// address", "--model", "m", "--url", "ftp://x")]
    [InlineData("--duration: '0s' must be longer than zero", "--model", "m", "--duration", "0s")]
    [InlineData("--model is given twice", "--model", "m", "--model", "n")]
    [InlineData("--timeout needs a value", "--model", "m", "--timeout")]
    [InlineData("carry their own", "--model", "m", "--input", "x.jsonl", "--batch-size", "4")]
    [InlineData("--protocol rest-predict sends the predict bodies of --input", "--model", "m", "--protocol", "rest-predict")]
    [InlineData("--model and --models exclude each other", "--model", "m", "--models", "a,b")]
    [InlineData("--model-distribution spreads requests over --models", "--model", "m", "--model-distribution", "zipf:1.1")]
    [InlineData("--model-distribution: 'zipf:x' is not uniform or zipf:S", "--models", "a,b", "--model-distribution", "zipf:x")]
    [InlineData("--models: model 'a' is listed twice", "--models", "a,b,a")]
    [InlineData("unexpected argument 'income'", "income")]
    [InlineData("--scenario needs --scenario-file", "--scenario", "smoke")]
    public void Bad_usage_is_refused_with_a_message_naming_the_problem(string message, params string[] args)
    {
        var error = Assert.Throws<UsageException>(() => ArgumentParser.Parse(args));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_and_a_bare_ceiling_need_no_model()
    {
        Assert.True(ArgumentParser.Parse(["--help"]).Global.Help);
        Assert.True(ArgumentParser.Parse(["-h"]).Global.Help);
        var ceiling = ArgumentParser.Parse(["--ceiling", "--ceiling-duration", "2s", "--ceiling-warn", "90%"]);
        Assert.Empty(ceiling.Runs);
        Assert.True(ceiling.Global.Ceiling);
        Assert.Equal(TimeSpan.FromSeconds(2), ceiling.Global.CeilingDuration);
        Assert.Equal(0.9, ceiling.Global.CeilingWarnShare, 9);
    }

    [Fact]
    public void A_higher_layer_that_sets_the_load_replaces_the_lower_layer_s_load()
    {
        var defaults = new Dictionary<string, string> { ["model"] = "income", ["concurrency"] = "8", ["duration"] = "30s" };
        var merged = ArgumentParser.Merge(defaults, new Dictionary<string, string> { ["stages"] = "10s:100" });
        Assert.False(merged.ContainsKey("concurrency"));
        Assert.False(merged.ContainsKey("duration"));
        Assert.Equal("income", merged["model"]);

        var rate = ArgumentParser.Merge(defaults, new Dictionary<string, string> { ["rate"] = "100" });
        Assert.False(rate.ContainsKey("concurrency"));
        Assert.Equal("30s", rate["duration"]);

        // A duration above stages does not silently drop the ramp: the two clash and the user is told.
        var clash = ArgumentParser.Merge(merged, new Dictionary<string, string> { ["duration"] = "2s" });
        Assert.Equal(("10s:100", "2s"), (clash["stages"], clash["duration"]));
    }
}
