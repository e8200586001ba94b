"""cmportal: the Customer Manager portal's MS AAD integration."""
