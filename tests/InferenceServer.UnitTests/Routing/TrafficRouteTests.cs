using System.Globalization;
using InferenceServer.Core.Inference;
using InferenceServer.UnitTests.TestDoubles;
using Xunit.Abstractions;

namespace InferenceServer.UnitTests.Routing;

/// <summary>
/// The default policy's choice of a route's variant: by weight, sticky by key (rendezvous hashing), forced by header,
/// bypassed by a named version, and never sent to a variant that does not serve. Over real route tables of a loaded core.
/// </summary>
/// <remarks>The observed split and the share of keys moved are written to the test output: RESULTS.md quotes them.</remarks>
public sealed class TrafficRouteTests(ITestOutputHelper output)
{
    private const int Keys = 100_000;

    // Variants are versions of m: stable (v1) and canary (v2), sticky by the default parameter and by a header.
    private static string Canary(uint stable, uint canary, string extra = "") => $$"""
        variant { name: "stable" version: 1 weight: {{stable}} }
        variant { name: "canary" version: 2 weight: {{canary}} }
        sticky { header: "x-user" }
        {{extra}}
        """;

    private static string Key(int i) => "user-" + i.ToString(CultureInfo.InvariantCulture);

    private static string[] Assign(RoutedCore routed)
    {
        var assigned = new string[Keys];
        for (var i = 0; i < Keys; i++)
        {
            assigned[i] = routed.Variant("m", RoutedCore.Keyed(Key(i)))!;
        }
        return assigned;
    }

    private static double Share(string[] assigned, string variant) => assigned.Count(v => v == variant) / (double)assigned.Length;

    [Fact]
    public async Task Over_100000_keys_the_split_follows_the_weights_and_every_key_keeps_its_variant()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("m", Canary(90, 10));

        var first = Assign(routed);
        var second = Assign(routed);

        output.WriteLine(FormattableString.Invariant($"{Keys} keys at 90/10: stable {Share(first, "stable"):P3}, canary {Share(first, "canary"):P3}; same variant on the second pass: {first.Zip(second).Count(p => p.First == p.Second)} of {Keys}"));
        Assert.InRange(Share(first, "canary"), 0.09, 0.11);
        Assert.InRange(Share(first, "stable"), 0.89, 0.91);
        Assert.Equal(first, second);
        // The variant is the version it declares, under the name the request addressed.
        var target = routed.Core.Door.Resolve("m", null, RoutedCore.Keyed(Key(Array.IndexOf(first, "canary"))));
        Assert.Equal(("m", "2", "canary"), (target.Name, target.Version, target.Variant!.Name));
    }

    [Fact]
    public async Task Moving_10_points_of_weight_moves_10_percent_of_keys_all_to_the_variant_that_gained()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("m", Canary(90, 10));
        var before = Assign(routed);

        // A new declaration (the file changed) ...
        routed.Publish("m", Canary(80, 20));
        var after = Assign(routed);
        AssertMovedToCanary(before, after);

        // ... and a weight change at run time (what a rollout step does) move the same keys.
        routed.Publish("m", Canary(90, 10, "# back to 10%"));
        Assert.Equal(before, Assign(routed));
        routed.Runtime("m").Weights.Set([80, 20]);
        Assert.Equal(after, Assign(routed));
    }

    private void AssertMovedToCanary(string[] before, string[] after)
    {
        var moved = 0;
        for (var i = 0; i < Keys; i++)
        {
            if (before[i] != after[i])
            {
                moved++;
                Assert.Equal(("stable", "canary"), (before[i], after[i]));
            }
        }
        output.WriteLine(FormattableString.Invariant($"90/10 to 80/20: {moved} of {Keys} keys moved ({moved / (double)Keys:P3}), all from stable to canary"));
        Assert.InRange(moved / (double)Keys, 0.09, 0.11);
    }

    [Fact]
    public async Task Requests_without_a_key_are_split_by_weight()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("m", Canary(70, 30));

        var assigned = new string[Keys];
        for (var i = 0; i < Keys; i++)
        {
            assigned[i] = routed.Variant("m", default)!;
        }

        Assert.InRange(Share(assigned, "canary"), 0.29, 0.31);
        Assert.InRange(Share(assigned, "stable"), 0.69, 0.71);
    }

    [Fact]
    public async Task The_key_comes_from_the_caller_else_the_parameter_else_the_header_else_the_input_and_routes_alike_from_each()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("m", """
            variant { name: "stable" version: 1 weight: 50 }
            variant { name: "canary" version: 2 weight: 50 }
            sticky { header: "x-user" input: "INPUT0" }
            """);

        using var input = AddOneInstance.Int32Tensor("INPUT0", [2], 0, 7);
        var seen = new HashSet<string?>();
        for (var user = 0; user < 200; user++)
        {
            var key = user.ToString(CultureInfo.InvariantCulture);
            var byCaller = routed.Variant("m", RoutedCore.Keyed(key));
            seen.Add(byCaller);
            Assert.Equal(byCaller, routed.Variant("m", RoutedCore.Context(parameters: new() { ["routing_key"] = key })));
            Assert.Equal(byCaller, routed.Variant("m", RoutedCore.Context(headers: new() { ["x-user"] = key })));
            using var tensor = AddOneInstance.Int32Tensor("INPUT0", [2], user, 7);
            Assert.Equal(byCaller, routed.Variant("m", RoutedCore.Context(inputs: [tensor])));
            // The parameter comes before the header, the header before the input.
            var other = (user + 1).ToString(CultureInfo.InvariantCulture);
            Assert.Equal(byCaller, routed.Variant("m", RoutedCore.Context(headers: new() { ["x-user"] = other }, parameters: new() { ["routing_key"] = key }, inputs: [input])));
            Assert.Equal(byCaller, routed.Variant("m", RoutedCore.Context(headers: new() { ["x-user"] = key }, inputs: [input])));
        }
        Assert.Equal(["canary", "stable"], seen.Order());
    }

    [Fact]
    public async Task A_batch_sticky_by_an_input_is_routed_by_its_key_when_every_row_carries_it_and_refused_naming_the_rows_when_not()
    {
        await using var routed = await RoutedCore.StartAsync();
        // m takes batches (max_batch_size 4): INPUT0 is [rows, n], each row's first element its user's key.
        routed.Publish("m", """
            variant { name: "stable" version: 1 weight: 50 }
            variant { name: "canary" version: 2 weight: 50 }
            sticky { input: "INPUT0" }
            """);

        var seen = new HashSet<string?>();
        for (var user = 0; user < 50; user++)
        {
            using var rows = AddOneInstance.Int32Tensor("INPUT0", [3, 2], user, 1, user, 2, user, 3);
            var variant = routed.Variant("m", RoutedCore.Context(inputs: [rows]));
            Assert.Equal(routed.Variant("m", RoutedCore.Keyed(user.ToString(CultureInfo.InvariantCulture))), variant);
            seen.Add(variant);
        }
        Assert.Equal(["canary", "stable"], seen.Order());

        using var mixed = AddOneInstance.Int32Tensor("INPUT0", [3, 2], 7, 1, 7, 2, 8, 3);
        var error = Assert.Throws<InferenceException>(() => routed.Core.Door.Resolve("m", null, RoutedCore.Context(inputs: [mixed])));
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Equal("input 'INPUT0' is the routing key of route 'm', and its rows carry different keys: row 0 has '7', row 2 has '8'; "
            + "a request is routed as a whole, so send the rows of each key as a request of its own", error.Message);
        // A key given otherwise is the request's whole key: the input's rows are not read.
        Assert.Equal(routed.Variant("m", RoutedCore.Keyed("user-1")),
            routed.Variant("m", RoutedCore.Context(parameters: new() { ["routing_key"] = "user-1" }, inputs: [mixed])));
    }

    [Fact]
    public async Task The_forcing_header_sends_a_request_to_its_variant_whatever_the_weights_and_key()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("m", Canary(100, 0));

        for (var i = 0; i < 100; i++)
        {
            Assert.Equal("stable", routed.Variant("m", RoutedCore.Keyed(Key(i))));
            Assert.Equal("canary", routed.Variant("m", RoutedCore.Context(headers: new() { ["x-variant"] = "canary", ["x-user"] = Key(i) })));
        }

        // A route may name its own header; the default one is then an ordinary header.
        routed.Publish("m", Canary(100, 0, """variant_header: "X-Arm" """));
        Assert.Equal("canary", routed.Variant("m", RoutedCore.Context(headers: new() { ["x-arm"] = "canary" })));
        Assert.Equal("stable", routed.Variant("m", RoutedCore.Context(headers: new() { ["x-variant"] = "canary" })));
    }

    [Fact]
    public async Task A_forced_variant_the_route_does_not_have_is_refused_naming_the_variants()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("m", Canary(90, 10));

        var error = Assert.Throws<InferenceException>(() => routed.Core.Door.Resolve("m", null, RoutedCore.Context(headers: new() { ["x-variant"] = "blue" })));

        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Equal("header 'x-variant' names variant 'blue', which route 'm' does not have; its variants are: stable, canary", error.Message);
    }

    [Fact]
    public async Task A_named_version_bypasses_the_route()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("m", Canary(0, 100));
        routed.Publish("ab", """
            variant { name: "a" model: "other" weight: 1 }
            variant { name: "b" model: "m" weight: 1 }
            """, besideModel: false);

        for (var i = 0; i < 100; i++)
        {
            var one = routed.Core.Door.Resolve("m", "1", RoutedCore.Context(headers: new() { ["x-variant"] = "canary" }));
            Assert.Equal(("m", "1", true), (one.Name, one.Version, one.Variant is null));
        }
        // A route declared alone names versions of its primary variant's model.
        var primary = routed.Core.Door.Resolve("ab", "1", default);
        Assert.Equal(("ab", "1", true), (primary.Name, primary.Version, primary.Variant is null));
        Assert.Same(routed.Core.Resolve("other", "1"), primary.Serving);
        Assert.Equal(InferenceErrorKind.NotFound, Assert.Throws<InferenceException>(() => routed.Core.Door.Resolve("ab", "2", default)).Kind);
    }

    [Fact]
    public async Task A_variant_that_does_not_serve_takes_no_traffic_while_another_serves()
    {
        await using var routed = await RoutedCore.StartAsync();
        // "ghost" is not loaded; m has no version 3.
        routed.Publish("ab", """
            variant { name: "a" model: "other" weight: 1 }
            variant { name: "gone" model: "ghost" weight: 5 }
            variant { name: "missing" model: "m" version: 3 weight: 5 }
            sticky {}
            """, besideModel: false);

        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal("a", routed.Variant("ab", default));
            Assert.Equal("a", routed.Variant("ab", RoutedCore.Keyed(Key(i))));
        }
        var forced = Assert.Throws<InferenceException>(() => routed.Core.Door.Resolve("ab", null, RoutedCore.Context(headers: new() { ["x-variant"] = "gone" })));
        Assert.Equal((InferenceErrorKind.Unavailable, "variant 'gone' of route 'ab' does not serve: model 'ghost' is not loaded"), (forced.Kind, forced.Message));
        forced = Assert.Throws<InferenceException>(() => routed.Core.Door.Resolve("ab", null, RoutedCore.Context(headers: new() { ["x-variant"] = "missing" })));
        Assert.Equal((InferenceErrorKind.Unavailable, "variant 'missing' of route 'ab' does not serve: unknown version '3' of model 'm'"), (forced.Kind, forced.Message));

        // When no variant with weight serves, one held back (weight 0) answers rather than the request failing.
        routed.Runtime("ab").Weights.Set(0, 0);
        Assert.Equal("a", routed.Variant("ab", default));
        await routed.Core.Door.UnloadModelAsync("other", unloadDependents: false, CancellationToken.None);
        var none = Assert.Throws<InferenceException>(() => routed.Core.Door.Resolve("ab", null, default));
        Assert.Equal(InferenceErrorKind.Unavailable, none.Kind);
        Assert.Equal("route 'ab' has no variant that serves (a: model 'other' is not loaded; gone: model 'ghost' is not loaded; missing: unknown version '3' of model 'm')", none.Message);
    }

    [Fact]
    public async Task A_variant_follows_its_model_as_it_loads_and_unloads()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("ab", """
            variant { name: "a" model: "m" version: 1 weight: 1 }
            variant { name: "b" model: "other" weight: 1 }
            """, besideModel: false);
        var runtime = routed.Runtime("ab");

        await routed.Core.Door.UnloadModelAsync("other", unloadDependents: false, CancellationToken.None);
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal("a", routed.Variant("ab", default));
        }
        await routed.Core.Door.LoadModelAsync("other", null, CancellationToken.None);
        var seen = new HashSet<string>();
        for (var i = 0; i < 200; i++)
        {
            seen.Add(routed.Variant("ab", default)!);
        }
        Assert.Equal(["a", "b"], seen.Order());
        // The route's runtime (weights, metrics) lived on through its models' changes.
        Assert.Same(runtime, routed.Runtime("ab"));
        Assert.False(runtime.IsDisposed);
    }
}
