using System.Globalization;
using InferenceServer.Core.Drift;
using InferenceServer.Core.Scoring;
using InferenceServer.Core.Serving;

namespace InferenceServer.Hosting;

/// <summary>
/// <c>inference-server profile</c>: loads one model from its repository (the serving core without Kestrel, as
/// <c>score</c> does) and has <see cref="TrainingProfiler"/> read the training records with score's readers (Parquet, CSV,
/// JSONL) through the model's feature view or into its inputs and run them through the model; writes the
/// <see cref="TrainingProfile"/> of the features and the predictions beside the model.
/// </summary>
internal static class ProfileRunner
{
    /// <summary>Builds and writes the profile; returns it. Throws <see cref="ProfileException"/> naming what is wrong.</summary>
    public static async Task<(TrainingProfiler.Result Result, string Path)> RunAsync(ProfileSettings settings, CancellationToken cancellationToken)
    {
        var modelFolder = settings.Repositories.Select(r => Path.Combine(r, settings.Model)).FirstOrDefault(Directory.Exists)
            ?? throw new ProfileException($"no model '{settings.Model}' in {string.Join(", ", settings.Repositories)}: expected a folder '{settings.Model}' in a model repository");
        var keys = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Server:ModelControlMode"] = "explicit",
            ["Server:LoadModels:0"] = settings.Model,
            // Profiling reads no profile.
            ["Drift:Enabled"] = "false",
        };
        for (var i = 0; i < settings.Repositories.Count; i++)
        {
            keys[$"Server:ModelRepository:{i.ToString(CultureInfo.InvariantCulture)}"] = settings.Repositories[i];
        }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(keys).Build();
        var services = new ServiceCollection().AddLogging().AddInferenceCore(configuration);
        await using var provider = services.BuildServiceProvider();
        var door = provider.GetRequiredService<InferenceFrontDoor>();
        await door.StartAsync(cancellationToken).ConfigureAwait(false);
        if (door.StartupFailures() is { Count: > 0 } failures)
        {
            throw new ProfileException($"model '{settings.Model}' did not load: {string.Join("; ", failures)}");
        }
        TrainingProfiler.Result result;
        try
        {
            result = await TrainingProfiler.BuildAsync(door, settings.Model, settings.From, settings.BatchSize, cancellationToken).ConfigureAwait(false);
        }
        catch (ScoreException e)
        {
            // The readers are score's and name its flag; here the same value came from --from.
            throw new ProfileException(e.Message.Replace("--input '", "--from '", StringComparison.Ordinal));
        }
        var path = settings.Output ?? Path.Combine(modelFolder, TrainingProfile.FileName);
        result.Profile.Write(path);
        return (result, path);
    }
}
