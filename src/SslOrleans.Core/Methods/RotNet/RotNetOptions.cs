using SslOrleans.Core.Models;

namespace SslOrleans.Core.Methods.RotNet;

public sealed record RotNetOptions(BackboneOptions Backbone)
{
    public void Validate() => Backbone.Validate();
}
