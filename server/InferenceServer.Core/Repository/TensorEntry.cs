using InferenceServer.Core.Repository.TextFormat;

namespace InferenceServer.Core.Repository;

/// <summary>A tensor read from a config, with where it was written, for checks made after the whole file is read.</summary>
internal sealed record TensorEntry(TensorConfig Config, TextField Field, TextField? NameField, TextField? ReshapeField);
