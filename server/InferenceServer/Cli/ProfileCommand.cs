using System.CommandLine;
using System.Globalization;
using InferenceServer.Core.Drift;
using InferenceServer.Hosting;

namespace InferenceServer.Cli;

/// <summary>
/// The <c>profile</c> verb: <c>inference-server profile --model-repository DIR --model income --from train.csv</c> writes
/// the model's training profile (per-feature quantile bins or category frequencies, and the predictions'
/// distribution) beside it, for drift monitoring. <c>--view</c> is the same as <c>--model</c>.
/// </summary>
internal static class ProfileCommand
{
    /// <summary>The verb, writing its summary to <paramref name="output"/> and errors to <paramref name="error"/>.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var repositories = new Option<string[]>("--model-repository")
        {
            Description = "The model repository the model is in; repeat for several.",
            HelpName = "DIR",
            Arity = ArgumentArity.OneOrMore,
            DefaultValueFactory = _ => ["models"],
        };
        var model = new Option<string>("--model", "--view")
        {
            Description = "The model (and its feature view) to profile.",
            HelpName = "NAME",
            Required = true,
        };
        var from = new Option<string>("--from")
        {
            Description = "The training records: a Parquet, CSV or JSONL file, a folder of them or a glob; columns named as the view's fields (or, without a view, as the model's inputs).",
            HelpName = "FILE",
            Required = true,
        };
        var to = new Option<string>("--output")
        {
            Description = $"Where to write the profile; default: {TrainingProfile.FileName} in the model's folder, where the server reads it.",
            HelpName = "FILE",
        };
        var batch = new Option<int>("--batch-size")
        {
            Description = "Rows run through the model at once (at most its max_batch_size).",
            HelpName = "ROWS",
            DefaultValueFactory = _ => 1024,
        };
        batch.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && (!int.TryParse(result.Tokens[0].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var rows) || rows < 1))
            {
                result.AddError($"--batch-size takes a whole number of rows of at least 1, not '{result.Tokens[0].Value}'");
            }
        });
        var command = new Command("profile",
            "Writes a model's training profile for drift monitoring: its feature view's raw fields (quantile bins for numbers, frequencies for categories) "
            + "and its predictions, from a file of training records, beside the model. A server started afterwards compares live traffic with it.")
        {
            repositories, model, from, to, batch,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var settings = new ProfileSettings(result.GetValue(repositories)!, result.GetValue(model)!, result.GetValue(from)!, result.GetValue(to),
                result.GetValue(batch));
            try
            {
                var (outcome, path) = await ProfileRunner.RunAsync(settings, cancellationToken).ConfigureAwait(false);
                var profile = outcome.Profile;
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"profiled {profile.Rows} rows of model '{profile.Model}' version {profile.Version}: {profile.Features.Count} features, {profile.Predictions.Count} prediction outputs; wrote {path}"))
                    .ConfigureAwait(false);
                if (outcome.BadRows > 0)
                {
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"left out {outcome.BadRows} rows the reader or the view refused")).ConfigureAwait(false);
                }
                if (outcome.Unprofiled.Count > 0)
                {
                    await output.WriteLineAsync($"no row had a value for {string.Join(", ", outcome.Unprofiled)}: not profiled").ConfigureAwait(false);
                }
                return 0;
            }
            catch (Exception e) when (e is ProfileException or Core.Scoring.ScoreException or IOException or UnauthorizedAccessException or InvalidDataException or Core.Inference.InferenceException)
            {
                await error.WriteLineAsync($"inference-server profile: {e.Message}").ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }
}
