using System.Globalization;
using InferenceServer.Core.Drift;
using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Serving;

namespace InferenceServer.Hosting;

/// <summary>
/// <c>inference-server profile</c>: loads one model from its repository (the serving core without Kestrel, as
/// <c>score</c> does), reads training records through the model's feature view, runs them through the model, and
/// writes the <see cref="TrainingProfile"/> of the raw features and the predictions beside the model.
/// </summary>
internal static class ProfileRunner
{
    /// <summary>Builds and writes the profile; returns it. Throws <see cref="ProfileException"/> naming what is wrong.</summary>
    public static async Task<(TrainingProfile Profile, string Path)> RunAsync(ProfileSettings settings, CancellationToken cancellationToken)
    {
        if (!File.Exists(settings.From))
        {
            throw new ProfileException($"--from '{settings.From}' is not a file; expected a CSV file of training records with a header row");
        }
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
        var view = door.FindFeatureView(settings.Model) ?? throw new ProfileException(
            $"model '{settings.Model}' has no feature view ({FeatureView.FileName}): profile reads raw records through one; profiling input tensors from a file is not supported yet");
        var config = door.ModelConfig(settings.Model, null, default);
        var batched = config.MaxBatchSize > 0;
        var batch = batched ? (int)Math.Min(settings.BatchSize, config.MaxBatchSize) : 1;

        ProfileBuilder? builder = null;
        using var records = OpenRecords(settings.From, view);
        long read = 0;
        while (records.Read(view, batch) is { } rows)
        {
            using (rows)
            {
                IReadOnlyList<Core.Tensors.Tensor> tensors;
                try
                {
                    tensors = view.Transform(rows, DateTimeOffset.UtcNow);
                }
                catch (FeatureException e)
                {
                    throw new ProfileException($"{settings.From}: data row {read + e.Row + 1}: field '{e.Field}': {e.Reason}");
                }
                using var request = new InferenceRequest { ModelName = settings.Model };
                request.Inputs.AddRange(tensors);
                using var response = await door.InferAsync(request, default(RoutingContext), cancellationToken).ConfigureAwait(false);
                builder ??= new ProfileBuilder(settings.Model, response.ModelVersion, TrainingProfile.ViewLevel);
                builder.AddRows(rows);
                builder.AddOutputs(response.Outputs, batched);
                read += rows.Count;
            }
        }
        if (builder is null)
        {
            throw new ProfileException($"{settings.From} has no data rows; a profile needs the training records");
        }
        var profile = builder.Build(Path.GetFileName(settings.From));
        var path = settings.Output ?? Path.Combine(modelFolder, TrainingProfile.FileName);
        profile.Write(path);
        return (profile, path);
    }

    private static ProfileCsvRecords OpenRecords(string path, FeatureView view)
    {
        var extension = Path.GetExtension(path);
        if (!extension.Equals(".csv", StringComparison.OrdinalIgnoreCase))
        {
            throw new ProfileException($"--from '{path}': profile reads CSV files (.csv) here; convert the file or use the score command's readers once they are merged");
        }
        return ProfileCsvRecords.Open(path, view);
    }
}
