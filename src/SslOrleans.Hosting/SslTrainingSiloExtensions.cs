using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Hosting;

public static class SslTrainingSiloExtensions
{
    /// <summary>
    /// Everything a silo needs to host training grains: checkpoint stores, and messaging limits that fit
    /// long steps (a worker's share of a step may take minutes on a CPU; Orleans' default timeout is 30 s).
    /// </summary>
    public static ISiloBuilder AddSslTraining(this ISiloBuilder silo, Action<SslTrainingOptions>? configure = null)
    {
        var options = new SslTrainingOptions();
        configure?.Invoke(options);
        options.Validate();
        silo.Services.TryAddSingleton<ICheckpointStoreFactory, LocalFolderCheckpointStoreFactory>();
        silo.Configure<SiloMessagingOptions>(o =>
        {
            o.ResponseTimeout = options.ResponseTimeout;
            o.MaxMessageBodySize = options.MaxMessageBodySize;
        });
        silo.Configure<GrainCollectionOptions>(o => o.CollectionAge = options.IdleCollectionAge);
        return silo;
    }

    public static IClientBuilder AddSslTrainingClient(this IClientBuilder client, Action<SslTrainingOptions>? configure = null)
    {
        var options = new SslTrainingOptions();
        configure?.Invoke(options);
        options.Validate();
        client.Configure<ClientMessagingOptions>(o =>
        {
            o.ResponseTimeout = options.ResponseTimeout;
            o.MaxMessageBodySize = options.MaxMessageBodySize;
        });
        return client;
    }
}
