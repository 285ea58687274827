using System.Text.Json;
using InferenceServer.FunctionalTests.Hosting;

namespace InferenceServer.FunctionalTests.Scoring;

/// <summary>
/// Training–serving parity (issue 15): the same 10,000 raw records scored by the batch scorer from Parquet, by the
/// batch scorer from CSV, and online (server + feature sidecar + Redis, materialized from the same Parquet file) give
/// the model bit-identical inputs and get bit-identical outputs (and so does the online path over REST, 100 entities a
/// request, whose answers travel as JSON numbers). The model echoes its input (<c>features_seen</c>), so
/// every path reports the exact tensor the model received, not a re-encoding of it.
/// </summary>
public sealed class TrainingServingParityTests(ParityFixture fixture) : IClassFixture<ParityFixture>
{
    [Fact]
    public void The_online_path_feeds_the_model_exactly_the_views_encoding_of_every_generated_record()
    {
        fixture.Reference.AssertIdentical(fixture.Online, probabilities: false);

        // The records are varied enough for the comparison to mean something: many distinct encodings and answers.
        Assert.True(Distinct(fixture.Online.Probability) > ParityFixture.Rows / 2, "the online answers are too alike to compare");
        Assert.All(fixture.Online.Probability, p => Assert.InRange(p, 0f, 1f));
    }

    [Fact]
    public void The_online_path_over_rest_with_lists_of_entities_gives_the_same_bits_as_grpc_one_entity_at_a_time()
    {
        fixture.Online.AssertIdentical(fixture.OnlineRest);
    }

    [Fact]
    public void The_batch_scorer_from_parquet_gives_the_model_the_same_inputs_and_gets_the_same_outputs_as_the_online_path()
    {
        fixture.Online.AssertIdentical(fixture.FromParquet);
    }

    [Fact]
    public void The_batch_scorer_from_csv_gives_the_model_the_same_inputs_and_gets_the_same_outputs_as_the_online_path()
    {
        fixture.Online.AssertIdentical(fixture.FromCsv);
    }

    [Fact]
    public void The_three_paths_agree_with_each_other_and_with_the_views_encoding()
    {
        fixture.FromParquet.AssertIdentical(fixture.FromCsv);
        fixture.Reference.AssertIdentical(fixture.FromParquet, probabilities: false);
        fixture.Reference.AssertIdentical(fixture.FromCsv, probabilities: false);
    }

    [Fact]
    public async Task The_users_own_parity_check_compare_with_finds_no_row_that_differs_from_the_online_server()
    {
        var (exitCode, run) = await ServerProcess.RunAsync("score", "--model-repository", fixture.Repository, "--model", "income",
            "--input", fixture.CsvFile, "--output", Path.Combine(fixture.Folder, "compared"), "--output-format", "csv",
            "--compare-with", fixture.ServerAddress.ToString(), "--compare-rows", "2000", "--json");
        using var _ = run;

        Assert.True(exitCode == 0, string.Join('\n', run.Error.Concat(run.Output.TakeLast(2))));
        using var compare = JsonDocument.Parse(run.Output.Last(l => l.Contains("\"compare\"", StringComparison.Ordinal)));
        Assert.Equal(2000, compare.RootElement.GetProperty("compared").GetInt32());
        Assert.Equal(0, compare.RootElement.GetProperty("differ").GetInt32());
    }

    private static int Distinct(float[] values) => values.Select(BitConverter.SingleToInt32Bits).Distinct().Count();
}
