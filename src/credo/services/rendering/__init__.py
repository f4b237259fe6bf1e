"""What recipients see: the credential view, PDF certificates, badge images, design previews."""
