using InferenceServer.LoadTest.Cli;
using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.Scenarios;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Tests.Scenarios;

public sealed class ScenarioFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("loadtest-scenarios-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    private const string Yaml = """
        # Two scenarios against the same model.
        defaults:
          url: http://10.0.0.5:8000
          model: income
          protocol: rest-binary
          concurrency: 8
          duration: 20s
        scenarios:
          - name: steady
            sla: "p99<20ms,errors<0.1%"
          - name: open
            rate: 500
            arrival: poisson
            sla: [ "p99<50ms", "throughput>=450" ]
          - name: ramp
            stages: [ "10s:100", "20s:500" ]
        """;

    [Fact]
    public void Yaml_scenarios_inherit_the_defaults_and_replace_the_load_they_set()
    {
        var runs = ArgumentParser.Parse(["--scenario-file", Write("s.yaml", Yaml)]).Runs;

        Assert.Equal(["steady", "open", "ramp"], runs.Select(r => r.Name));
        Assert.All(runs, r => Assert.Equal(Protocol.RestBinary, r.Protocol));
        Assert.All(runs, r => Assert.Equal(new Uri("http://10.0.0.5:8000"), r.Url));
        Assert.Equal((LoadMode.Closed, 8.0, 20.0), (runs[0].Mode, runs[0].Profile.MaxLevel, runs[0].Profile.Duration.TotalSeconds));
        Assert.Equal((LoadMode.Open, 500.0, 20.0), (runs[1].Mode, runs[1].Profile.MaxLevel, runs[1].Profile.Duration.TotalSeconds));
        Assert.Equal(ArrivalProcess.Poisson, runs[1].Arrival);
        Assert.Equal(2, runs[1].Sla.Count);
        Assert.Equal((LoadMode.Open, 30.0), (runs[2].Mode, runs[2].Profile.Duration.TotalSeconds));
    }

    [Fact]
    public void One_scenario_can_be_picked_and_the_command_line_wins()
    {
        var invocation = ArgumentParser.Parse(["--scenario-file", Write("s.yaml", Yaml), "--scenario", "open", "--url", "http://127.0.0.1:9000", "--json", "out.json"]);

        var run = Assert.Single(invocation.Runs);
        Assert.Equal("open", run.Name);
        Assert.Equal(new Uri("http://127.0.0.1:9000"), run.Url);
        Assert.Equal("out.json", invocation.Global.JsonPath);
    }

    [Fact]
    public void Json_files_and_a_map_of_scenarios_work_the_same()
    {
        var path = Write("s.json", """
            { "defaults": { "model": "simple", "duration": "5s" },
              "scenarios": { "light": { "concurrency": 2 }, "heavy": { "concurrency": 32, "find_max_rate": false } } }
            """);
        var runs = ArgumentParser.Parse(["--scenario-file", path]).Runs;

        Assert.Equal(["light", "heavy"], runs.Select(r => r.Name));
        Assert.Equal([2.0, 32.0], runs.Select(r => r.Profile.MaxLevel));
        Assert.All(runs, r => Assert.Equal("simple", r.Model));
    }

    [Theory]
    [InlineData("scenarios: [ { rate: 5 } ]", "has no 'name'")]
    [InlineData("defaults: { model: m }", "'scenarios' is missing")]
    [InlineData("scenarios: [ { name: a, colour: red } ]", "unknown setting 'colour'")]
    [InlineData("scenarios: [ { name: a }, { name: a } ]", "two scenarios are named 'a'")]
    [InlineData("servers: []", "unknown top-level key 'servers'")]
    [InlineData("scenarios: [ { name: a, model: m, rate: 10, concurrency: 2 } ]", "scenario 'a': --concurrency (closed loop) and --rate (open loop) exclude each other")]
    [InlineData("scenarios: [ name: [", "not valid YAML")]
    public void Bad_scenario_files_are_usage_errors(string text, string message)
    {
        var error = Assert.Throws<UsageException>(() => ArgumentParser.Parse(["--scenario-file", Write("bad.yaml", text)]));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_scenario_name_lists_the_ones_there_are()
    {
        var error = Assert.Throws<UsageException>(() => ArgumentParser.Parse(["--scenario-file", Write("s.yaml", Yaml), "--scenario", "spike"]));
        Assert.Contains("(it has: steady, open, ramp)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_file_s_shapes_are_read_as_maps_lists_and_strings() =>
        Assert.Equal("a,b", ScenarioFile.Parse(new Dictionary<object, object> { ["scenarios"] = new List<object> { new Dictionary<object, object> { ["name"] = "x", ["sla"] = new List<object> { "a", "b" } } } }, "test").Scenarios[0].Settings["sla"]);
}
